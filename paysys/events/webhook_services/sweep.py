"""The sweeper and resend: the delivery rows, not Celery messages, are what is owed.

``webhook_sweep`` (the beat task) re-queues every delivery that is due and has no message in
flight (never sent, or sent ``WEBHOOK_REDISPATCH_AFTER`` ago and still not done), creates the
deliveries an after-commit fan-out missed, and disables endpoints that have failed for
``WEBHOOK_DISABLE_AFTER`` with no attempt left to notice it. ``webhook_resend`` delivers an event
again on request.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from paysys.errors import ConflictError, NotFoundError
from paysys.events.models import Event, WebhookDelivery, WebhookEndpoint
from paysys.events.webhook_services.dispatch import dispatch_on_commit
from paysys.events.webhook_services.endpoints import endpoint_disable_automatically, endpoint_matches
from paysys.events.webhook_services.fanout import webhook_fanout_missed
from paysys.events.webhook_services.policy import (
    UNFINISHED,
    WEBHOOK_DISABLE_AFTER,
    WEBHOOK_REDISPATCH_AFTER,
    WEBHOOK_SWEEP_BATCH,
)
from paysys.tenancy import Tenant


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    fanned_out: int
    endpoints_disabled: int


def webhook_sweep(*, now: datetime | None = None, limit: int = WEBHOOK_SWEEP_BATCH) -> SweepResult:
    """Re-queue every delivery that is due and has no live message; the beat task runs it.

    Also creates deliveries the after-commit fan-out missed, and disables endpoints that have
    failed for ``WEBHOOK_DISABLE_AFTER`` with no attempt left to notice it.
    """
    now = now or timezone.now()
    fanned_out = webhook_fanout_missed(now=now)
    disabled = 0
    for endpoint_pk in WebhookEndpoint.objects.filter(
        status=WebhookEndpoint.Status.ENABLED, failing_since__lte=now - WEBHOOK_DISABLE_AFTER
    ).values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            if endpoint_disable_automatically(
                endpoint_pk=endpoint_pk, reason=WebhookEndpoint.DisabledReason.FAILING, now=now
            ):
                disabled += 1
    requeued = webhook_requeue_due(now=now, limit=limit)
    return SweepResult(requeued=requeued, fanned_out=fanned_out, endpoints_disabled=disabled)


def webhook_requeue_due(
    *, now: datetime | None = None, limit: int = WEBHOOK_SWEEP_BATCH, force: bool = False
) -> int:
    """Queue a message for each due delivery whose message is not (or no longer) in flight.

    ``force`` (operators, ``retry_webhooks --force``) also re-sends deliveries whose message was
    sent moments ago: a duplicate message is harmless, the task skips what is done or locked.
    """
    now = now or timezone.now()
    recent_cutoff = now if force else now - WEBHOOK_REDISPATCH_AFTER
    with transaction.atomic(durable=True):
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=UNFINISHED, next_attempt_at__lte=now)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=recent_cutoff))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(dispatched_at=now)
            dispatch_on_commit(ids)
    return len(ids)


def webhook_retry_due(*, force: bool = False, now: datetime | None = None) -> int:
    """Re-queue every delivery due now, batch after batch (``manage.py retry_webhooks``)."""
    now = now or timezone.now()
    total = 0
    while True:
        queued = webhook_requeue_due(now=now, force=force)
        total += queued
        if queued < WEBHOOK_SWEEP_BATCH:
            return total


def webhook_resend(*, tenant: Tenant, event_id: str, endpoint_id: str | None = None) -> list[WebhookDelivery]:
    """Deliver an event again now: to one endpoint, or to every enabled endpoint subscribed to it,
    all of the tenant's mode (a live event never goes to a test endpoint, nor the reverse).

    An existing delivery is reset to pending with a fresh retry schedule (its past attempts stay
    recorded); a missing one is created. The ``webhook-id`` stays the event's id.
    """
    with transaction.atomic(durable=True):
        event = tenant.scope(Event.objects.all()).filter(public_id=event_id).first()
        if event is None:
            raise NotFoundError(f"No such event: '{event_id}'", param="id")
        endpoints_qs = tenant.scope(WebhookEndpoint.objects.filter(deleted_at__isnull=True))
        if endpoint_id is not None:
            endpoint = endpoints_qs.filter(public_id=endpoint_id).first()
            if endpoint is None:
                raise NotFoundError(f"No such webhook endpoint: '{endpoint_id}'", param="webhook_endpoint")
            if endpoint.status != WebhookEndpoint.Status.ENABLED:
                raise ConflictError(
                    f"Webhook endpoint '{endpoint_id}' is disabled; enable it first.",
                    code="webhook_endpoint_disabled",
                    param="webhook_endpoint",
                )
            endpoints = [endpoint]
        else:
            subscribed = endpoints_qs.filter(status=WebhookEndpoint.Status.ENABLED)
            endpoints = [e for e in subscribed.order_by("pk") if endpoint_matches(e, event.type)]
        now = timezone.now()
        deliveries: list[WebhookDelivery] = []
        for endpoint in endpoints:
            delivery = _delivery_get_or_create_locked(event=event, endpoint=endpoint, now=now)
            delivery_restart(delivery, now=now)
            deliveries.append(delivery)
        dispatch_on_commit([d.pk for d in deliveries])
    return deliveries


def delivery_restart(delivery: WebhookDelivery, *, now: datetime) -> None:
    """Make a locked delivery due now with a fresh retry schedule (its past attempts stay
    recorded); the caller queues its message after commit (``dispatch_on_commit``)."""
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.attempt_count = 0
    delivery.next_attempt_at = now
    delivery.dispatched_at = now
    delivery.completed_at = None
    delivery.save()


def _delivery_get_or_create_locked(
    *, event: Event, endpoint: WebhookEndpoint, now: datetime
) -> WebhookDelivery:
    # Waits (no SKIP LOCKED) for an attempt in flight: the resend then starts a fresh schedule.
    qs = WebhookDelivery.objects.select_for_update(of=("self",)).filter(event=event, endpoint=endpoint)
    delivery = qs.first()
    if delivery is not None:
        return delivery
    try:
        with transaction.atomic():
            return WebhookDelivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=now)
    except IntegrityError:
        # The fan-out created it meanwhile.
        return qs.get()
