"""Webhook delivery through a REAL Celery worker (a subprocess on Redis, its own queue) to a
real HTTP receiver on 127.0.0.1. Time is moved through the rows (``travel``), never slept through."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from paysys.events import webhook_services as ws
from paysys.events.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.webhooks.conftest import emit, travel, wait_until
from tests.webhooks.receiver import Receiver, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EVENTS = 5


def _attempts_reach(count: int, n: int):
    return lambda: WebhookDelivery.objects.filter(attempt_count__gte=n).count() >= count


@pytest.mark.timeout(120)
def test_receiver_down_for_a_day_then_up_gets_every_event_following_the_schedule(worker_factory, merchant_id):
    worker_factory(PAYSYS_WEBHOOK_CONNECT_TIMEOUT="1").start()
    receiver = Receiver(port=free_port())  # nothing listens there yet: connections are refused
    created = ws.webhook_endpoint_create(merchant_id=merchant_id, url=receiver.url, enabled_events=["*"])
    events = [emit(merchant_id) for _ in range(EVENTS)]
    wait_until(_attempts_reach(EVENTS, 1))

    attempts = 1
    down_for = timedelta()
    try:
        while True:
            due = max(WebhookDelivery.objects.values_list("next_attempt_at", flat=True))
            step = due - timezone.now()
            if down_for + step >= timedelta(days=1) and receiver._server is None:
                receiver.start()  # back up, on the same URL
            travel(step)
            down_for += step
            ws.webhook_sweep()
            attempts += 1
            wait_until(_attempts_reach(EVENTS, attempts))
            if receiver._server is not None:
                break
            assert attempts < ws.MAX_WEBHOOK_ATTEMPTS
        received = receiver.wait_for(EVENTS)
    finally:
        receiver.stop()

    assert down_for >= timedelta(days=1)
    wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == EVENTS)
    assert sorted(receiver.ids()) == sorted(e.public_id for e in events)
    for request in received:
        Webhook(created.secret).verify(request.body, request.headers)
    # Every delivery followed the schedule: the gaps between its attempts are the delays, jittered.
    for delivery in WebhookDelivery.objects.all():
        times = list(delivery.attempts.order_by("pk").values_list("created", flat=True))
        assert len(times) == attempts
        for (a, b), base in zip(itertools.pairwise(times), ws.WEBHOOK_RETRY_DELAYS, strict=False):
            assert base * 0.8 - timedelta(seconds=5) <= b - a <= base * 1.2 + timedelta(seconds=5)
    assert WebhookEndpoint.objects.get().status == "enabled"


@pytest.mark.timeout(120)
def test_worker_killed_mid_delivery_delivers_again_after_restart_with_the_same_webhook_id(
    worker_factory, merchant_id, receiver
):
    worker = worker_factory(PAYSYS_WEBHOOK_READ_TIMEOUT="60").start()
    receiver.hang = True
    ws.webhook_endpoint_create(merchant_id=merchant_id, url=receiver.url, enabled_events=["*"])
    event = emit(merchant_id)
    receiver.wait_for(1)  # the worker is inside the HTTP request now

    worker.kill()
    receiver.hang = False
    receiver.released.set()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempt_count == 0
    assert not WebhookAttempt.objects.exists()

    worker_factory().start()
    # The message died with the worker; the sweeper finds the delivery due and re-queues it.
    assert ws.webhook_sweep(now=timezone.now() + ws.WEBHOOK_REDISPATCH_AFTER).requeued == 1
    receiver.wait_for(2)
    wait_until(lambda: WebhookDelivery.objects.get().status == "succeeded")
    assert receiver.ids() == [event.public_id, event.public_id]
    assert WebhookAttempt.objects.get().status_code == 200


@pytest.mark.timeout(120)
def test_hanging_receiver_does_not_stall_deliveries_to_another_endpoint(worker_factory, merchant_id):
    worker_factory(PAYSYS_WEBHOOK_READ_TIMEOUT="60", PAYSYS_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT="2").start(
        concurrency=4
    )
    hanging, healthy = Receiver(hang=True).start(), Receiver().start()
    try:
        ws.webhook_endpoint_create(merchant_id=merchant_id, url=hanging.url, enabled_events=["*"])
        ws.webhook_endpoint_create(merchant_id=merchant_id, url=healthy.url, enabled_events=["*"])
        events = [emit(merchant_id) for _ in range(8)]

        healthy.wait_for(8, timeout=15)  # while the other endpoint still holds its requests
        assert sorted(healthy.ids()) == sorted(e.public_id for e in events)
        assert len(hanging.received) <= 2  # it only ever holds its own slots
    finally:
        hanging.stop()
        healthy.stop()
