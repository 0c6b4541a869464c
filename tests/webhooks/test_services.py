"""Webhook services on the real database with a real local receiver; the task body is called
directly here (tests/webhooks/test_worker.py runs it in a real Celery worker)."""

import io
import itertools
import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook

from paysys.errors import ConflictError, NotFoundError
from paysys.events import webhook_services as ws
from paysys.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from paysys.events.serializers import event_payload
from paysys.events.ssrf import WebhookUrlBlockedError
from paysys.events.webhook_services.attempts import endpoint_slot_acquire
from paysys.tenancy import Tenant
from tests.webhooks.conftest import after_commit, emit, queued_delivery_ids, travel


def _tenant(merchant_id: str, *, livemode: bool = False) -> Tenant:
    return Tenant(merchant_pk=None, merchant_id=merchant_id, livemode=livemode)


@pytest.fixture
def endpoint_factory(allow_private, receiver, merchant_id):
    def make(url=None, events=("*",), merchant=None):
        return ws.webhook_endpoint_create(
            merchant_id=merchant or merchant_id, url=url or receiver.url, enabled_events=list(events)
        )

    return make


def _succeeded_count() -> float:
    """The Prometheus counter of successful delivery attempts."""
    return REGISTRY.get_sample_value("paysys_webhook_deliveries_total", {"outcome": "succeeded"}) or 0.0


def _only_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("endpoint", "event").get()


# Most tests run in a rolled-back transaction (on-commit work is run by ``after_commit``); the
# ones with a second connection in a thread need real commits.
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def test_fanout_creates_one_delivery_per_matching_enabled_endpoint_and_queues_it(
    endpoint_factory, merchant_id, queue
):
    client, name = queue
    all_events = endpoint_factory().endpoint
    payments = endpoint_factory(events=["payment.succeeded"]).endpoint
    endpoint_factory(events=["refund.succeeded"])  # not subscribed
    disabled = endpoint_factory().endpoint
    ws.webhook_endpoint_disable(tenant=_tenant(merchant_id), endpoint_id=disabled.public_id)
    endpoint_factory(merchant="mer_someoneelse")  # another merchant

    event = emit(merchant_id)

    deliveries = dict(WebhookDelivery.objects.filter(event=event).values_list("endpoint_id", "pk"))
    assert set(deliveries) == {all_events.pk, payments.pk}
    # One message for the event, naming both deliveries, sent after commit.
    assert queued_delivery_ids(client, name) == [sorted(deliveries.values())]


def test_event_of_merchant_without_endpoints_costs_one_query(django_assert_num_queries, merchant_id, queue):
    event = Event(
        type="payment.succeeded", merchant_id=merchant_id, object_type="payment", data={"object": {}}
    )
    event.save()
    with django_assert_num_queries(1):
        ws.webhook_fanout(event=event)


def test_successful_delivery_is_signed_verifiable_and_recorded(
    endpoint_factory, merchant_id, receiver, queue
):
    created = endpoint_factory()
    event = emit(merchant_id)
    delivery = _only_delivery()
    succeeded_before = _succeeded_count()

    assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_DELIVERED

    request = receiver.received[0]
    payload = Webhook(created.secret).verify(request.body, request.headers)
    assert payload == event_payload(Event.objects.get(pk=event.pk))
    assert request.headers["webhook-id"] == event.public_id
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 10
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempt_count == 1 and delivery.next_attempt_at is None
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 200 and attempt.outcome == "succeeded"
    assert attempt.latency_ms is not None and attempt.response_excerpt == "ok"
    assert _succeeded_count() == succeeded_before + 1


def test_failed_attempt_is_retried_after_the_first_delay_with_jitter(
    endpoint_factory, merchant_id, receiver, queue
):
    endpoint_factory()
    emit(merchant_id)
    receiver.status = 500
    receiver.response_body = b"x" * 5000
    delivery = _only_delivery()
    before = timezone.now()

    assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_RETRY_SCHEDULED

    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempt_count == 1
    wait = delivery.next_attempt_at - before
    first = ws.WEBHOOK_RETRY_DELAYS[0]
    assert first * 0.8 <= wait <= first * 1.2 + timedelta(seconds=5)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 500 and len(attempt.response_excerpt.encode()) <= 1024
    assert delivery.endpoint.__class__.objects.get(pk=delivery.endpoint_id).failing_since is not None


def test_delivery_not_due_or_finished_is_skipped_without_a_request(
    endpoint_factory, merchant_id, receiver, queue
):
    endpoint_factory()
    emit(merchant_id)
    delivery = _only_delivery()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_SKIPPED_NOT_DUE
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="succeeded", next_attempt_at=None, completed_at=timezone.now()
    )
    assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_SKIPPED_DONE
    assert ws.webhook_deliver(delivery_id=10**12) == ws.RESULT_MISSING
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
def test_delivery_locked_by_another_worker_is_skipped(endpoint_factory, merchant_id, receiver, queue):
    endpoint_factory()
    emit(merchant_id)
    delivery = _only_delivery()
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
                locked.set()
                release.wait(20)
        finally:
            connection.close()

    t = threading.Thread(target=hold_lock)
    t.start()
    try:
        assert locked.wait(10)
        assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_SKIPPED_LOCKED
    finally:
        release.set()
        t.join(20)
    assert receiver.received == []
    assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_DELIVERED


@pytest.mark.django_db(transaction=True)
def test_endpoint_with_every_slot_taken_defers_without_counting_an_attempt(
    endpoint_factory, merchant_id, receiver, queue, settings
):
    settings.PAYSYS_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = 1
    endpoint = endpoint_factory().endpoint
    emit(merchant_id)
    delivery = _only_delivery()
    locked, release = threading.Event(), threading.Event()

    def hold_slot():
        try:
            with transaction.atomic():
                assert endpoint_slot_acquire(endpoint.pk)
                locked.set()
                release.wait(20)
        finally:
            connection.close()

    t = threading.Thread(target=hold_slot)
    t.start()
    try:
        assert locked.wait(10)
        assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_ENDPOINT_BUSY
    finally:
        release.set()
        t.join(20)
    delivery.refresh_from_db()
    assert delivery.attempt_count == 0 and delivery.status == "pending"
    assert receiver.received == []


def test_410_disables_the_endpoint_at_once_and_tells_the_merchant(
    endpoint_factory, merchant_id, receiver, queue
):
    endpoint = endpoint_factory().endpoint
    emit(merchant_id)
    emit(merchant_id)
    receiver.status = 410
    first, second = WebhookDelivery.objects.order_by("pk")

    assert ws.webhook_deliver(delivery_id=first.pk) == ws.RESULT_ABANDONED

    endpoint.refresh_from_db()
    assert endpoint.status == "disabled" and endpoint.disabled_reason == "gone"
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"abandoned"}
    notice = Event.objects.get(type="webhook_endpoint.disabled")
    assert notice.merchant_id == merchant_id and notice.data["object"]["id"] == endpoint.public_id
    assert "secret" not in notice.data["object"]
    assert ws.webhook_deliver(delivery_id=second.pk) == ws.RESULT_SKIPPED_DONE
    assert len(receiver.received) == 1


def test_endpoint_failing_for_three_days_is_disabled_with_an_event(
    endpoint_factory, merchant_id, receiver, queue
):
    endpoint = endpoint_factory().endpoint
    receiver.status = 503
    emit(merchant_id)
    delivery = _only_delivery()
    assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_RETRY_SCHEDULED
    emit(merchant_id)  # a new event, tried 3 days after the failures began
    travel(ws.WEBHOOK_DISABLE_AFTER)
    newest = WebhookDelivery.objects.order_by("-pk").first()

    assert ws.webhook_deliver(delivery_id=newest.pk) == ws.RESULT_ABANDONED

    endpoint.refresh_from_db()
    assert endpoint.status == "disabled" and endpoint.disabled_reason == "failing"
    assert Event.objects.filter(type="webhook_endpoint.disabled", merchant_id=merchant_id).count() == 1


def test_sweeper_disables_an_endpoint_failing_three_days_with_no_attempt_left(
    endpoint_factory, merchant_id, receiver, queue
):
    endpoint = endpoint_factory().endpoint
    receiver.status = 503
    emit(merchant_id)
    ws.webhook_deliver(delivery_id=_only_delivery().pk)
    WebhookDelivery.objects.update(status="abandoned", next_attempt_at=None, completed_at=timezone.now())
    travel(ws.WEBHOOK_DISABLE_AFTER + timedelta(minutes=1))

    assert ws.webhook_sweep().endpoints_disabled == 1
    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == "failing"


def test_schedule_is_followed_then_the_delivery_is_abandoned(endpoint_factory, merchant_id, receiver, queue):
    endpoint_factory()
    receiver.status = 500
    emit(merchant_id)
    delivery = _only_delivery()
    results = []
    for _ in range(ws.MAX_WEBHOOK_ATTEMPTS):
        results.append(ws.webhook_deliver(delivery_id=delivery.pk))
        delivery.refresh_from_db()
        if delivery.next_attempt_at is not None:
            # Keep the endpoint out of the 3-day rule: this test is about one delivery's schedule.
            WebhookEndpoint.objects.update(failing_since=None)
            travel(delivery.next_attempt_at - timezone.now())
    assert results == [ws.RESULT_RETRY_SCHEDULED] * (ws.MAX_WEBHOOK_ATTEMPTS - 1) + [ws.RESULT_ABANDONED]
    assert delivery.status == "abandoned" and delivery.attempt_count == ws.MAX_WEBHOOK_ATTEMPTS
    created = list(WebhookAttempt.objects.order_by("pk").values_list("created", flat=True))
    gaps = [b - a for a, b in itertools.pairwise(created)]
    for gap, base in zip(gaps, ws.WEBHOOK_RETRY_DELAYS, strict=True):
        assert base * 0.8 - timedelta(seconds=5) <= gap <= base * 1.2 + timedelta(seconds=5)


@hsettings(max_examples=50, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_retry_schedule_spans_about_three_days_with_bounded_jitter(seed):
    import random

    rng = random.Random(seed)
    delays = [ws.retry_delay(n, rng=rng) for n in range(1, ws.MAX_WEBHOOK_ATTEMPTS)]
    for delay, base in zip(delays, ws.WEBHOOK_RETRY_DELAYS, strict=True):
        assert base * (1 - ws.WEBHOOK_RETRY_JITTER) <= delay <= base * (1 + ws.WEBHOOK_RETRY_JITTER)
    total = sum(delays, timedelta())
    assert timedelta(days=2) < total < timedelta(days=3.5)
    assert ws.retry_delay(ws.MAX_WEBHOOK_ATTEMPTS, rng=rng) is None


def test_rotation_sends_both_signatures_for_24_hours(endpoint_factory, merchant_id, receiver, queue):
    created = endpoint_factory()
    rotated = ws.webhook_endpoint_rotate_secret(
        tenant=_tenant(merchant_id), endpoint_id=created.endpoint.public_id
    )
    assert rotated.secret != created.secret
    emit(merchant_id)
    ws.webhook_deliver(delivery_id=_only_delivery().pk)
    request = receiver.received[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(created.secret).verify(request.body, request.headers)
    Webhook(rotated.secret).verify(request.body, request.headers)

    WebhookEndpoint.objects.update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    ws.webhook_resend(tenant=_tenant(merchant_id), event_id=_only_delivery().event.public_id)
    ws.webhook_deliver(delivery_id=_only_delivery().pk)
    assert len(receiver.received[1].headers["webhook-signature"].split(" ")) == 1
    Webhook(rotated.secret).verify(receiver.received[1].body, receiver.received[1].headers)


def test_resend_restarts_a_finished_delivery_with_the_same_webhook_id(
    endpoint_factory, merchant_id, receiver, queue
):
    endpoint_factory()
    event = emit(merchant_id)
    ws.webhook_deliver(delivery_id=_only_delivery().pk)

    (again,) = ws.webhook_resend(tenant=_tenant(merchant_id), event_id=event.public_id)
    assert again.status == "pending" and again.attempt_count == 0
    assert ws.webhook_deliver(delivery_id=again.pk) == ws.RESULT_DELIVERED
    assert receiver.ids() == [event.public_id, event.public_id]
    assert WebhookAttempt.objects.count() == 2


def test_resend_reaches_an_endpoint_created_after_the_event(endpoint_factory, merchant_id, queue):
    event = emit(merchant_id)
    endpoint = endpoint_factory().endpoint
    assert not WebhookDelivery.objects.exists()
    (delivery,) = ws.webhook_resend(
        tenant=_tenant(merchant_id), event_id=event.public_id, endpoint_id=endpoint.public_id
    )
    assert delivery.endpoint_id == endpoint.pk


def test_resend_of_another_merchants_event_is_not_found(endpoint_factory, merchant_id, queue):
    event = emit("mer_other")
    with pytest.raises(NotFoundError):
        ws.webhook_resend(tenant=_tenant(merchant_id), event_id=event.public_id)


def test_resend_to_a_disabled_endpoint_is_a_conflict(endpoint_factory, merchant_id, queue):
    endpoint = endpoint_factory().endpoint
    event = emit(merchant_id)
    ws.webhook_endpoint_disable(tenant=_tenant(merchant_id), endpoint_id=endpoint.public_id)
    with pytest.raises(ConflictError):
        ws.webhook_resend(
            tenant=_tenant(merchant_id), event_id=event.public_id, endpoint_id=endpoint.public_id
        )


def test_sweeper_requeues_due_deliveries_without_a_live_message_only(endpoint_factory, merchant_id, queue):
    client, name = queue
    endpoint_factory()
    emit(merchant_id)
    client.delete(name)  # the message is lost
    now = timezone.now()

    with after_commit():
        assert ws.webhook_requeue_due(now=now) == 0  # just dispatched: presumed in flight
    with after_commit():
        assert ws.webhook_requeue_due(now=now + ws.WEBHOOK_REDISPATCH_AFTER) == 1
    assert client.llen(name) == 1
    with after_commit():
        assert ws.webhook_requeue_due(now=now + ws.WEBHOOK_REDISPATCH_AFTER) == 0  # dispatched again just now


def test_sweeper_creates_deliveries_the_after_commit_fanout_missed(endpoint_factory, merchant_id, queue):
    endpoint_factory()
    event = emit(merchant_id)
    WebhookDelivery.objects.all().delete()  # as if the process died right after the commit

    result = ws.webhook_sweep(now=timezone.now() + timedelta(seconds=30))
    assert result.fanned_out == 1 and result.requeued == 1
    assert WebhookDelivery.objects.get().event_id == event.pk


def test_creating_an_endpoint_on_a_private_address_is_refused(settings, merchant_id):
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    with pytest.raises(WebhookUrlBlockedError) as exc:
        ws.webhook_endpoint_create(merchant_id=merchant_id, url="http://10.1.2.3/hook", enabled_events=["*"])
    assert exc.value.param == "url"
    assert not WebhookEndpoint.objects.exists()


def test_secret_is_encrypted_at_rest(endpoint_factory):
    created = endpoint_factory()
    row = WebhookEndpoint.objects.values().get()
    assert created.secret not in json.dumps(row, default=str)
    assert created.secret.removeprefix("whsec_") not in json.dumps(row, default=str)


def test_deleted_endpoint_abandons_its_deliveries_and_gets_no_more(endpoint_factory, merchant_id, queue):
    endpoint = endpoint_factory().endpoint
    emit(merchant_id)
    ws.webhook_endpoint_delete(tenant=_tenant(merchant_id), endpoint_id=endpoint.public_id)
    assert _only_delivery().status == "abandoned"
    emit(merchant_id)
    assert WebhookDelivery.objects.count() == 1
    with pytest.raises(NotFoundError):
        ws.webhook_endpoint_enable(tenant=_tenant(merchant_id), endpoint_id=endpoint.public_id)


def test_retry_webhooks_command_requeues_what_is_due_now(endpoint_factory, merchant_id, queue):
    client, name = queue
    endpoint_factory()
    emit(merchant_id)
    emit(merchant_id)
    client.delete(name)
    WebhookDelivery.objects.update(dispatched_at=None)  # nothing in flight
    out = io.StringIO()
    with after_commit():
        call_command("retry_webhooks", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"requeued": 2}
    due = sorted(WebhookDelivery.objects.values_list("pk", flat=True))
    assert queued_delivery_ids(client, name) == [due]  # one message for the batch
    out = io.StringIO()
    with after_commit():
        call_command("retry_webhooks", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"requeued": 0}  # just queued: presumed in flight
    with after_commit():
        call_command("retry_webhooks", "--force", stdout=io.StringIO())
    assert queued_delivery_ids(client, name) == [due, due]


def test_test_mode_events_reach_only_test_mode_endpoints(endpoint_factory, merchant_id, queue):
    test_endpoint = endpoint_factory().endpoint
    live = ws.webhook_endpoint_create(
        merchant_id=merchant_id, url=test_endpoint.url, enabled_events=["*"], livemode=True
    ).endpoint
    event = emit(merchant_id)
    delivered_to = list(WebhookDelivery.objects.filter(event=event).values_list("endpoint_id", flat=True))
    assert delivered_to == [test_endpoint.pk] and live.pk not in delivered_to
