"""/metrics in Prometheus' text format, with the paysys counters other apps increment."""

import urllib.request

import pytest
from django.db import transaction
from prometheus_client.parser import text_string_to_metric_families

from paysys import metrics
from paysys.ops.apps import worker_metrics_server_start


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return _samples(response.content.decode())


@pytest.mark.django_db
def test_metrics_serves_django_and_paysys_families(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        metrics.payment_record(status="succeeded")
    metrics.webhook_delivery_record(outcome="succeeded", seconds=0.12)
    samples = _scrape(client)
    names = {name for name, _ in samples}
    assert "django_http_requests_before_middlewares_total" in names
    assert ("paysys_payments_total", (("status", "succeeded"),)) in samples
    assert ("paysys_webhook_deliveries_total", (("outcome", "succeeded"),)) in samples
    assert "paysys_webhook_delivery_seconds_bucket" in names


@pytest.mark.django_db
def test_scraped_counters_follow_the_recorded_events(client, django_capture_on_commit_callbacks):
    before = _scrape(client).get(("paysys_transfers_total", (("action", "created"),)), 0.0)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            metrics.transfer_record(action="created")
    after = _scrape(client)[("paysys_transfers_total", (("action", "created"),))]
    assert after == before + 3


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transfer_is_not_counted():
    counter = metrics.TRANSFERS.labels(action="created")
    before = counter._value.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        metrics.transfer_record()
        raise RuntimeError("the posting failed")
    assert counter._value.get() == before
    with transaction.atomic():
        metrics.transfer_record()
        assert counter._value.get() == before  # not until the commit
    assert counter._value.get() == before + 1


@pytest.mark.django_db
def test_unknown_label_values_are_folded_into_other(django_capture_on_commit_callbacks):
    before = metrics.PAYMENTS.labels(status="other")._value.get()
    with django_capture_on_commit_callbacks(execute=True):
        metrics.payment_record(status="pay_3kTmSomeIdThatMustNotBecomeALabel")
    assert metrics.PAYMENTS.labels(status="other")._value.get() == before + 1


@pytest.mark.timeout(30)
def test_a_celery_worker_serves_its_own_counters_when_a_port_is_set(settings):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.PAYSYS_WORKER_METRICS_PORT = port
    settings.PAYSYS_WORKER_METRICS_ADDRESS = "127.0.0.1"
    metrics.webhook_delivery_record(outcome="failed")
    server, thread = worker_metrics_server_start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            samples = _samples(response.read().decode())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert samples[("paysys_webhook_deliveries_total", (("outcome", "failed"),))] >= 1


def test_no_worker_metrics_server_without_a_port(settings):
    settings.PAYSYS_WORKER_METRICS_PORT = 0
    assert worker_metrics_server_start() is None
