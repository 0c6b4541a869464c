"""Fan-out: the deliveries a committed event owes, one per matching enabled endpoint.

Test-mode events go to test-mode endpoints only, live to live; an endpoint hears of events from
its creation on. The after-commit fan-out (``webhook_fanout``) is the fast path; the sweeper's
``webhook_fanout_missed`` creates what a process killed right after a commit never fanned out.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from paysys.events import persistence
from paysys.events.models import Event, WebhookDelivery, WebhookEndpoint
from paysys.events.types import WILDCARD_EVENT
from paysys.events.webhook_services.dispatch import dispatch_on_commit
from paysys.events.webhook_services.endpoints import endpoint_matches
from paysys.events.webhook_services.policy import (
    WEBHOOK_BUSY_DELAY,
    WEBHOOK_FANOUT_LOOKBACK,
    WEBHOOK_SWEEP_BATCH,
)


def webhook_fanout(*, event: Event) -> list[int]:
    """Create the deliveries an event owes and queue them after commit; returns their ids.

    Runs after the event's transaction committed (``event_committed`` receiver), so it costs
    what every committed event costs: one SELECT of the merchant's endpoints (its only query when
    none is subscribed), one INSERT, and one Celery message. Safe to run twice: existing (event,
    endpoint) pairs are left as they are (and not queued again: whoever made them queued them).
    """
    if not event.merchant_id:
        return []
    endpoint_pks = persistence.fanout_endpoint_ids(event)
    if not endpoint_pks:
        return []
    ids = persistence.fanout_deliveries_insert(
        event_pk=event.pk, endpoint_pks=endpoint_pks, now=timezone.now()
    )
    # At once outside a transaction; after the caller's commit inside one (tests, a caller that
    # fans out in its own atomic block).
    dispatch_on_commit(ids)
    return ids


def webhook_fanout_missed(
    *, now: datetime | None = None, lookback: timedelta = WEBHOOK_FANOUT_LOOKBACK
) -> int:
    """Create deliveries that the after-commit fan-out missed (a process died right after commit).

    Set-based: the recent events of merchants with enabled endpoints that lack a delivery; the
    new rows are due at once and the sweep that follows queues them.
    """
    now = now or timezone.now()
    since = now - lookback
    # Leave the very last moments to the after-commit fan-out, which is still running for them.
    until = now - WEBHOOK_BUSY_DELAY
    created = 0
    with transaction.atomic(durable=True):
        endpoints = list(
            WebhookEndpoint.objects.filter(status=WebhookEndpoint.Status.ENABLED, deleted_at__isnull=True)
        )
        by_merchant: dict[str, list[WebhookEndpoint]] = {}
        for e in endpoints:
            by_merchant.setdefault(e.merchant_id, []).append(e)
        if not by_merchant:
            return 0
        # Only events some endpoint subscribes to; the fan-out writes an event's deliveries in one
        # transaction, so an event with none at all is one the fan-out never reached.
        wanted = Q()
        for merchant_id, merchant_endpoints in by_merchant.items():
            types = {t for e in merchant_endpoints for t in e.enabled_events}
            scope = Q(merchant_id=merchant_id, created__gte=min(e.created for e in merchant_endpoints))
            wanted |= scope if WILDCARD_EVENT in types else scope & Q(type__in=sorted(types))
        events = (
            Event.objects.filter(wanted, created__gte=since, created__lt=until)
            .exclude(webhook_deliveries__isnull=False)
            .only("id", "type", "merchant_id", "created", "livemode")
        )
        rows = [
            WebhookDelivery(event=ev, endpoint=e, next_attempt_at=now)
            for ev in events.iterator(chunk_size=WEBHOOK_SWEEP_BATCH)
            for e in by_merchant.get(ev.merchant_id, [])
            if e.created <= ev.created and e.livemode == ev.livemode and endpoint_matches(e, ev.type)
        ]
        if rows:
            created = len(WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True))
    return created
