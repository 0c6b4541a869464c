"""Webhook delivery: endpoints, fan-out, attempts, retries, the sweeper. Every write is here.

Guarantees
* **At least once.** Each committed event owes one ``WebhookDelivery`` per matching enabled
  endpoint (unique per event and endpoint). The delivery row, not the Celery message, is the
  truth: a message only wakes a worker up; ``webhook_sweep`` re-queues any delivery that is
  due and has no message in flight (never sent, or sent ``WEBHOOK_REDISPATCH_AFTER`` ago and
  still not done), so a lost message or a killed worker delays a webhook and never loses it.
* **Same ``webhook-id`` on every try.** The id is the event's ``evt_`` id; receivers dedupe on it.
* **One attempt at a time per delivery.** ``webhook_deliver`` locks the delivery row with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` and holds it through the HTTP request: a duplicate
  message for a delivery in flight skips at once, a finished or not-yet-due delivery is
  skipped, and a worker killed mid-request drops its connection, which releases the lock and
  leaves the delivery due for the sweeper.
* **Fairness.** At most ``PAYSYS_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT`` requests per endpoint at
  once (PostgreSQL advisory locks, one per slot); a delivery that finds every slot taken is put
  back a moment later without counting an attempt, so a slow receiver holds only its own slots
  and never every worker of the ``webhooks`` queue. Timeouts bound each slot's time.

Retries: 2xx is success. 410 disables the endpoint at once. Anything else (another status, a
timeout, a refused connection, an address the SSRF guard refuses) is retried after
``WEBHOOK_RETRY_DELAYS[n]`` times a random factor in [1 - JITTER, 1 + JITTER]: about 2.9 days over
11 attempts, then the delivery is abandoned. An endpoint whose attempts have all failed for
``WEBHOOK_DISABLE_AFTER`` (3 days) is disabled and the merchant gets a
``webhook_endpoint.disabled`` event.

Lock order: delivery row, then its endpoint row. Services that start from the endpoint (disable,
delete) touch its deliveries with ``SKIP LOCKED`` only, so the two orders never wait on each other.
"""

import json
import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from paysys import metrics
from paysys.errors import ConflictError, InvalidRequestError, NotFoundError
from paysys.events import signing
from paysys.events.delivery import OUTCOME_REFUSED, OUTCOME_SUCCEEDED, OUTCOME_TIMEOUT, webhook_post
from paysys.events.models import (
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from paysys.events.services import event_emit
from paysys.events.ssrf import url_validate

logger = logging.getLogger(__name__)

# The delay after failed attempt n (1-based: WEBHOOK_RETRY_DELAYS[0] follows the first try).
WEBHOOK_RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
)
MAX_WEBHOOK_ATTEMPTS = len(WEBHOOK_RETRY_DELAYS) + 1
WEBHOOK_RETRY_JITTER = 0.2
WEBHOOK_DISABLE_AFTER = timedelta(days=3)
# A sent message not consumed by then is presumed lost (queue purged, worker killed before it
# acknowledged); sending it again is harmless because the task is idempotent.
WEBHOOK_REDISPATCH_AFTER = timedelta(minutes=2)
# A delivery that finds its endpoint's slots all taken keeps trying for WEBHOOK_SLOT_WAIT (a fast
# endpoint frees a slot within milliseconds), then is put back for WEBHOOK_BUSY_DELAY (a slow one
# holds its slots for up to its timeouts: waiting longer would hand it this worker too).
WEBHOOK_SLOT_WAIT = timedelta(milliseconds=250)
WEBHOOK_SLOT_POLL_SECONDS = 0.01
WEBHOOK_BUSY_DELAY = timedelta(seconds=1)
# The previous secret keeps signing this long after a rotation.
WEBHOOK_SECRET_ROTATION_OVERLAP = timedelta(hours=24)
WEBHOOK_SWEEP_BATCH = 1000
# How far back the sweeper looks for events whose after-commit fan-out never ran (a process
# killed right after the commit). Older misses are left to a manual resend.
WEBHOOK_FANOUT_LOOKBACK = timedelta(minutes=10)
WILDCARD_EVENT = "*"
ENDPOINT_DISABLED_EVENT = "webhook_endpoint.disabled"
DEFAULT_QUEUE = "webhooks"
DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT = 4
MAX_ENABLED_EVENTS = 100
EVENT_TYPE_MAX_LENGTH = 100
# Advisory-lock namespace for per-endpoint slots: (namespace + slot, endpoint id) as two int4 keys.
_ENDPOINT_SLOT_LOCK_NAMESPACE = 0x5748_0000
_INT4_MASK = 0x7FFF_FFFF

# Results of webhook_deliver (for logs and tests).
RESULT_DELIVERED = "delivered"
RESULT_RETRY_SCHEDULED = "retry_scheduled"
RESULT_ABANDONED = "abandoned"
RESULT_SKIPPED_LOCKED = "skipped_locked"
RESULT_SKIPPED_DONE = "skipped_done"
RESULT_SKIPPED_NOT_DUE = "skipped_not_due"
RESULT_ENDPOINT_BUSY = "endpoint_busy"
RESULT_MISSING = "missing"

_UNFINISHED = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED)

# The event types a merchant can subscribe to (API.md), plus the endpoint notice this module sends.
WEBHOOK_EVENT_TYPES = frozenset(
    {
        "payment.succeeded",
        "payment.failed",
        "payment.captured",
        "payment.canceled",
        "payment.requires_review",
        "refund.succeeded",
        "dispute.created",
        "dispute.closed",
        "transfer.created",
        "transfer.reversed",
        "settlement.completed",
        "payout.paid",
        "payout.failed",
        ENDPOINT_DISABLED_EVENT,
    }
)


# --- settings, read when used ----------------------------------------------------------------
def webhook_queue() -> str:
    return getattr(settings, "PAYSYS_WEBHOOK_QUEUE", DEFAULT_QUEUE)


def _max_in_flight() -> int:
    return int(
        getattr(settings, "PAYSYS_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT)
    )


# --- representations --------------------------------------------------------------------------
def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(event: Event) -> dict[str, Any]:
    """The event as the API shows it (``GET /v1/events/{id}``) and as webhooks carry it."""
    return {
        "id": event.public_id,
        "object": "event",
        "type": event.type,
        "created": _iso(event.created),
        "livemode": event.livemode,
        "data": event.data,
    }


def event_body(event: Event) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, the same on every attempt."""
    return json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=False).encode()


def webhook_endpoint_payload(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    """The endpoint as the API shows it; ``secret`` only on creation and rotation."""
    payload: dict[str, Any] = {
        "id": endpoint.public_id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": list(endpoint.enabled_events),
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason or None,
        "livemode": endpoint.livemode,
        "metadata": endpoint.metadata,
        "created": _iso(endpoint.created),
    }
    if secret is not None:
        payload["secret"] = secret
    return payload


# --- small helpers ----------------------------------------------------------------------------
def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def _enabled_events_clean(enabled_events: Sequence[str]) -> list[str]:
    if not isinstance(enabled_events, list | tuple) or not enabled_events:
        raise InvalidRequestError(
            "enabled_events must be a non-empty list of event types, or ['*'].", param="enabled_events"
        )
    if len(enabled_events) > MAX_ENABLED_EVENTS:
        raise InvalidRequestError(
            f"enabled_events holds at most {MAX_ENABLED_EVENTS} types.", param="enabled_events"
        )
    cleaned: list[str] = []
    for value in enabled_events:
        if not isinstance(value, str) or (value != WILDCARD_EVENT and value not in WEBHOOK_EVENT_TYPES):
            raise InvalidRequestError(f"Unknown event type: {value!r}.", param="enabled_events")
        if value not in cleaned:
            cleaned.append(value)
    if WILDCARD_EVENT in cleaned:
        return [WILDCARD_EVENT]
    return cleaned


def endpoint_matches(endpoint: WebhookEndpoint, event_type: str) -> bool:
    events = endpoint.enabled_events or []
    return WILDCARD_EVENT in events or event_type in events


def _endpoint_lock(*, merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = (
        WebhookEndpoint.objects.select_for_update(of=("self",))
        .filter(public_id=endpoint_id, merchant_id=merchant_id, deleted_at__isnull=True)
        .first()
    )
    if endpoint is None:
        raise NotFoundError(f"No such webhook endpoint: '{endpoint_id}'", param="id")
    return endpoint


def _delivery_lock_skip_locked(delivery_id: int) -> WebhookDelivery | None:
    """The delivery row, locked; None when another worker holds it (or it does not exist)."""
    return (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint", "event")
        .filter(pk=delivery_id)
        .first()
    )


def _endpoint_slot_acquire(endpoint_pk: int) -> bool:
    """Take one of the endpoint's in-flight slots for the rest of this transaction.

    Tries every slot, for at most ``WEBHOOK_SLOT_WAIT``; False when all stayed taken.
    """
    if connection.vendor != "postgresql":
        return True  # the embedded SQLite mode runs one worker thread at a time anyway
    slots = max(1, _max_in_flight())
    deadline = time.monotonic() + WEBHOOK_SLOT_WAIT.total_seconds()
    with connection.cursor() as cursor:
        while True:
            # Start at a random slot: concurrent tasks then rarely contend for the same one.
            first = random.randrange(slots)
            for offset in range(slots):
                # Same round trip: this transaction commits without waiting for its WAL flush.
                # A commit lost in a database crash only means the delivery is made once more,
                # with the same webhook-id: at-least-once holds, and the flush wait, the largest
                # share of a delivery's database time, is gone.
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, %s), set_config('synchronous_commit', 'off', true)",
                    [_ENDPOINT_SLOT_LOCK_NAMESPACE + (first + offset) % slots, endpoint_pk & _INT4_MASK],
                )
                if cursor.fetchone()[0]:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(WEBHOOK_SLOT_POLL_SECONDS)


def retry_delay(attempt_count: int, *, rng: random.Random | None = None) -> timedelta | None:
    """The wait after the ``attempt_count``-th failed attempt, with jitter; None: give up."""
    if attempt_count < 1 or attempt_count > len(WEBHOOK_RETRY_DELAYS):
        return None
    base = WEBHOOK_RETRY_DELAYS[attempt_count - 1]
    factor = (rng or random).uniform(1 - WEBHOOK_RETRY_JITTER, 1 + WEBHOOK_RETRY_JITTER)
    return base * factor


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets_ = [signing.secret_decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        secrets_.append(signing.secret_decrypt(endpoint.previous_secret_encrypted))
    return secrets_


def _dispatch_on_commit(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    ids = list(delivery_ids)
    if ids:
        transaction.on_commit(partial(_dispatch, ids, countdown=countdown), robust=True)


def _dispatch(delivery_ids: list[int], *, countdown: float | None = None) -> None:
    """Send one Celery message per delivery. A broker failure is logged: the sweeper retries."""
    from paysys.events.tasks import webhook_deliver_task

    queue = webhook_queue()
    for delivery_id in delivery_ids:
        try:
            webhook_deliver_task.apply_async(args=[delivery_id], queue=queue, countdown=countdown)
        except Exception:  # the broker is down; the delivery row is still due
            logger.exception(
                "webhook dispatch failed; the sweeper will re-queue", extra={"delivery": delivery_id}
            )
            return


# --- endpoints --------------------------------------------------------------------------------
@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str


def webhook_endpoint_create(
    *,
    merchant_id: str,
    url: str,
    enabled_events: Sequence[str],
    description: str = "",
    metadata: dict[str, str] | None = None,
    livemode: bool = False,
) -> EndpointWithSecret:
    """Register an endpoint; the returned secret is shown to the merchant this once."""
    url = url_validate(url)
    events = _enabled_events_clean(enabled_events)
    secret = signing.secret_generate()
    with transaction.atomic(durable=True):
        endpoint = WebhookEndpoint.objects.create(
            merchant_id=merchant_id,
            url=url,
            enabled_events=events,
            description=description,
            metadata=metadata or {},
            livemode=livemode,
            secret_encrypted=signing.secret_encrypt(secret),
        )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def webhook_endpoint_update(
    *,
    merchant_id: str,
    endpoint_id: str,
    url: str | None = None,
    enabled_events: Sequence[str] | None = None,
    status: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> WebhookEndpoint:
    """PATCH: change the URL (checked again), the subscribed types or the status."""
    if url is not None:
        url = url_validate(url)
    events = _enabled_events_clean(enabled_events) if enabled_events is not None else None
    if status is not None and status not in WebhookEndpoint.Status.values:
        raise InvalidRequestError("status must be 'enabled' or 'disabled'.", param="status")
    with transaction.atomic(durable=True):
        endpoint = _endpoint_lock(merchant_id=merchant_id, endpoint_id=endpoint_id)
        if url is not None:
            endpoint.url = url
        if events is not None:
            endpoint.enabled_events = events
        if description is not None:
            endpoint.description = description
        if metadata is not None:
            endpoint.metadata = metadata
        if status == WebhookEndpoint.Status.ENABLED:
            _endpoint_set_enabled(endpoint)
        elif status == WebhookEndpoint.Status.DISABLED and endpoint.status == WebhookEndpoint.Status.ENABLED:
            _endpoint_set_disabled(endpoint, reason=WebhookEndpoint.DisabledReason.MERCHANT)
        endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
    """Delete: the endpoint disappears from the API, its unfinished deliveries are abandoned."""
    with transaction.atomic(durable=True):
        endpoint = _endpoint_lock(merchant_id=merchant_id, endpoint_id=endpoint_id)
        now = timezone.now()
        endpoint.deleted_at = now
        if endpoint.status == WebhookEndpoint.Status.ENABLED:
            endpoint.status = WebhookEndpoint.Status.DISABLED
            endpoint.disabled_reason = WebhookEndpoint.DisabledReason.MERCHANT
        endpoint.save()
        _deliveries_abandon(endpoint_pk=endpoint.pk, now=now)
    return endpoint


def webhook_endpoint_rotate_secret(*, merchant_id: str, endpoint_id: str) -> EndpointWithSecret:
    """A new secret; the current one keeps signing (second signature) for 24 hours."""
    secret = signing.secret_generate()
    with transaction.atomic(durable=True):
        endpoint = _endpoint_lock(merchant_id=merchant_id, endpoint_id=endpoint_id)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = timezone.now() + WEBHOOK_SECRET_ROTATION_OVERLAP
        endpoint.secret_encrypted = signing.secret_encrypt(secret)
        endpoint.save()
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def webhook_endpoint_disable(
    *, merchant_id: str, endpoint_id: str, reason: str = "operator"
) -> WebhookEndpoint:
    """Disable an endpoint (operators, the admin). No event: the merchant or an operator chose it."""
    if reason not in WebhookEndpoint.DisabledReason.values or not reason:
        raise InvalidRequestError(f"Unknown disable reason {reason!r}.", param="reason")
    with transaction.atomic(durable=True):
        endpoint = _endpoint_lock(merchant_id=merchant_id, endpoint_id=endpoint_id)
        if endpoint.status == WebhookEndpoint.Status.DISABLED:
            return endpoint
        _endpoint_set_disabled(endpoint, reason=reason)
        endpoint.save()
    return endpoint


def webhook_endpoint_enable(*, merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
    """Enable again; deliveries abandoned meanwhile stay abandoned (resend them if wanted)."""
    with transaction.atomic(durable=True):
        endpoint = _endpoint_lock(merchant_id=merchant_id, endpoint_id=endpoint_id)
        if endpoint.status != WebhookEndpoint.Status.ENABLED:
            _endpoint_set_enabled(endpoint)
            endpoint.save()
    return endpoint


def _endpoint_set_enabled(endpoint: WebhookEndpoint) -> None:
    endpoint.status = WebhookEndpoint.Status.ENABLED
    endpoint.disabled_reason = WebhookEndpoint.DisabledReason.NONE
    endpoint.failing_since = None


def _endpoint_set_disabled(endpoint: WebhookEndpoint, *, reason: str) -> None:
    endpoint.status = WebhookEndpoint.Status.DISABLED
    endpoint.disabled_reason = reason


def _deliveries_abandon(*, endpoint_pk: int, now: datetime) -> int:
    """Abandon an endpoint's unfinished deliveries that no worker holds right now.

    One in flight (locked) is left alone: it records its attempt and, on its next run, finds the
    endpoint disabled and abandons itself.
    """
    with transaction.atomic(savepoint=False):
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(endpoint_id=endpoint_pk, status__in=_UNFINISHED)
            .values_list("pk", flat=True)
        )
        return WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDelivery.Status.ABANDONED, next_attempt_at=None, completed_at=now
        )


def _endpoint_disable_automatically(*, endpoint_pk: int, reason: str, now: datetime) -> bool:
    """Disable for ``gone`` / ``failing`` and tell the merchant with an event; joins the caller.

    True when this call disabled it (it was enabled).
    """
    with transaction.atomic(savepoint=False):
        endpoint = (
            WebhookEndpoint.objects.select_for_update(of=("self",))
            .filter(pk=endpoint_pk, status=WebhookEndpoint.Status.ENABLED)
            .first()
        )
        if endpoint is None:
            return False
        _endpoint_set_disabled(endpoint, reason=reason)
        endpoint.save()
        _deliveries_abandon(endpoint_pk=endpoint.pk, now=now)
        event_emit(
            event_type=ENDPOINT_DISABLED_EVENT,
            merchant_id=endpoint.merchant_id,
            object_type="webhook_endpoint",
            data={"object": webhook_endpoint_payload(endpoint)},
            livemode=endpoint.livemode,
        )
        metrics.webhook_delivery_record(outcome="endpoint_disabled")
    logger.warning("webhook endpoint disabled", extra={"endpoint": endpoint.public_id, "reason": reason})
    return True


# --- fan-out: one delivery per matching endpoint ------------------------------------------------
def webhook_fanout(*, event: Event) -> list[int]:
    """Create the deliveries an event owes and queue them after commit; returns their ids.

    Runs after the event's transaction committed (``event_committed`` receiver). Safe to run
    twice: existing (event, endpoint) pairs are left as they are.
    """
    if not event.merchant_id:
        return []
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(
            merchant_id=event.merchant_id,
            # Test-mode events go to test-mode endpoints only, live to live.
            livemode=event.livemode,
            status=WebhookEndpoint.Status.ENABLED,
            deleted_at__isnull=True,
            created__lte=event.created,
        )
        if endpoint_matches(e, event.type)
    ]
    if not endpoints:
        return []
    now = timezone.now()
    with transaction.atomic(durable=True):
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event=event, endpoint=e, next_attempt_at=now, dispatched_at=now)
                for e in endpoints
            ],
            ignore_conflicts=True,
        )
        # ignore_conflicts leaves pks unset: read them back (a second message for a delivery
        # someone else made is harmless, the task is idempotent).
        ids = list(
            WebhookDelivery.objects.filter(
                event=event, endpoint__in=endpoints, status=WebhookDelivery.Status.PENDING, attempt_count=0
            ).values_list("pk", flat=True)
        )
        _dispatch_on_commit(ids)
    return ids


def webhook_fanout_missed(
    *, now: datetime | None = None, lookback: timedelta = WEBHOOK_FANOUT_LOOKBACK
) -> int:
    """Create deliveries that the after-commit fan-out missed (a process died right after commit).

    Set-based: the recent events of merchants with enabled endpoints that lack a delivery; the
    new rows are due at once and the sweep that follows queues them.
    """
    now = _now(now)
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


# --- one attempt --------------------------------------------------------------------------------
def webhook_deliver(*, delivery_id: int) -> str:
    """Make the next attempt of one delivery, if it is due and no one else is making it.

    The entry point of the Celery task. Holds the delivery's row lock through the HTTP request
    (bounded by the connect and read timeouts), then records the attempt and its consequences in
    the same transaction.
    """
    outcome_for_metrics: tuple[str, float | None] | None = None
    with transaction.atomic(durable=True):
        delivery = _delivery_lock_skip_locked(delivery_id)
        if delivery is None:
            exists = WebhookDelivery.objects.filter(pk=delivery_id).exists()
            return RESULT_SKIPPED_LOCKED if exists else RESULT_MISSING
        if delivery.status not in _UNFINISHED:
            return RESULT_SKIPPED_DONE
        now = timezone.now()
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return RESULT_SKIPPED_NOT_DUE
        endpoint = delivery.endpoint
        if endpoint.status != WebhookEndpoint.Status.ENABLED or endpoint.deleted_at is not None:
            _delivery_finish(delivery, status=WebhookDelivery.Status.ABANDONED, now=now)
            return RESULT_ABANDONED
        if not _endpoint_slot_acquire(endpoint.pk):
            delivery.next_attempt_at = now + WEBHOOK_BUSY_DELAY
            delivery.dispatched_at = now
            delivery.save(update_fields=["next_attempt_at", "dispatched_at"])
            _dispatch_on_commit([delivery.pk], countdown=WEBHOOK_BUSY_DELAY.total_seconds())
            return RESULT_ENDPOINT_BUSY

        body = event_body(delivery.event)
        headers = signing.headers_build(
            msg_id=delivery.event.public_id,
            timestamp=int(now.timestamp()),
            body=body,
            secrets_=_signing_secrets(endpoint, now),
        )
        sent = webhook_post(url=endpoint.url, headers=headers, body=body)
        finished_at = timezone.now()
        WebhookAttempt.objects.create(
            delivery=delivery,
            outcome=sent.outcome,
            status_code=sent.status_code,
            latency_ms=sent.latency_ms,
            response_excerpt=sent.response_excerpt,
            error=sent.error,
            created=finished_at,
        )
        delivery.attempt_count += 1
        delivery.last_attempt_at = finished_at
        delivery.last_status_code = sent.status_code
        delivery.dispatched_at = None
        seconds = (
            sent.latency_ms / 1000 if sent.status_code is not None and sent.latency_ms is not None else None
        )
        if sent.outcome == OUTCOME_SUCCEEDED:
            _delivery_finish(delivery, status=WebhookDelivery.Status.SUCCEEDED, now=finished_at)
            if endpoint.failing_since is not None:
                # Only the first success after failures writes the endpoint row: a healthy
                # endpoint's row is neither written nor locked by its deliveries.
                WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                    failing_since=None
                )
            outcome_for_metrics = (OUTCOME_SUCCEEDED, seconds)
            result = RESULT_DELIVERED
        elif sent.status_code == 410:
            _delivery_finish(delivery, status=WebhookDelivery.Status.ABANDONED, now=finished_at)
            _endpoint_disable_automatically(
                endpoint_pk=endpoint.pk, reason=WebhookEndpoint.DisabledReason.GONE, now=finished_at
            )
            outcome_for_metrics = ("failed", seconds)
            result = RESULT_ABANDONED
        else:
            result = _delivery_failed(delivery, endpoint=endpoint, now=finished_at)
            outcome_for_metrics = (
                sent.outcome if sent.outcome in (OUTCOME_TIMEOUT, OUTCOME_REFUSED) else "failed",
                seconds,
            )
    if outcome_for_metrics is not None:
        metrics.webhook_delivery_record(outcome=outcome_for_metrics[0], seconds=outcome_for_metrics[1])
    return result


_DELIVERY_PROGRESS_FIELDS = [
    "status",
    "attempt_count",
    "next_attempt_at",
    "dispatched_at",
    "last_attempt_at",
    "last_status_code",
    "completed_at",
]


def _delivery_finish(delivery: WebhookDelivery, *, status: str, now: datetime) -> None:
    delivery.status = status
    delivery.next_attempt_at = None
    delivery.dispatched_at = None
    delivery.completed_at = now
    delivery.save(update_fields=_DELIVERY_PROGRESS_FIELDS)


def _delivery_failed(delivery: WebhookDelivery, *, endpoint: WebhookEndpoint, now: datetime) -> str:
    # Only the first failure after a success writes the endpoint row.
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    failing_since = (
        WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True).first()
    )
    if failing_since is not None and now - failing_since >= WEBHOOK_DISABLE_AFTER:
        _delivery_finish(delivery, status=WebhookDelivery.Status.ABANDONED, now=now)
        _endpoint_disable_automatically(
            endpoint_pk=endpoint.pk, reason=WebhookEndpoint.DisabledReason.FAILING, now=now
        )
        return RESULT_ABANDONED
    delay = retry_delay(delivery.attempt_count)
    if delay is None:
        _delivery_finish(delivery, status=WebhookDelivery.Status.ABANDONED, now=now)
        return RESULT_ABANDONED
    delivery.status = WebhookDelivery.Status.FAILED
    delivery.next_attempt_at = now + delay
    delivery.save(update_fields=_DELIVERY_PROGRESS_FIELDS)
    return RESULT_RETRY_SCHEDULED


# --- the sweeper, resend ----------------------------------------------------------------------
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
    now = _now(now)
    fanned_out = webhook_fanout_missed(now=now)
    disabled = 0
    for endpoint_pk in WebhookEndpoint.objects.filter(
        status=WebhookEndpoint.Status.ENABLED, failing_since__lte=now - WEBHOOK_DISABLE_AFTER
    ).values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            if _endpoint_disable_automatically(
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
    now = _now(now)
    recent_cutoff = now if force else now - WEBHOOK_REDISPATCH_AFTER
    with transaction.atomic(durable=True):
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=_UNFINISHED, next_attempt_at__lte=now)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=recent_cutoff))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(dispatched_at=now)
            _dispatch_on_commit(ids)
    return len(ids)


def webhook_retry_due(*, force: bool = False, now: datetime | None = None) -> int:
    """Re-queue every delivery due now, batch after batch (``manage.py retry_webhooks``)."""
    now = _now(now)
    total = 0
    while True:
        queued = webhook_requeue_due(now=now, force=force)
        total += queued
        if queued < WEBHOOK_SWEEP_BATCH:
            return total


def webhook_resend(
    *, merchant_id: str, event_id: str, endpoint_id: str | None = None
) -> list[WebhookDelivery]:
    """Deliver an event again now: to one endpoint, or to every enabled endpoint subscribed to it.

    An existing delivery is reset to pending with a fresh retry schedule (its past attempts stay
    recorded); a missing one is created. The ``webhook-id`` stays the event's id.
    """
    with transaction.atomic(durable=True):
        event = Event.objects.filter(public_id=event_id, merchant_id=merchant_id).first()
        if event is None:
            raise NotFoundError(f"No such event: '{event_id}'", param="id")
        endpoints_qs = WebhookEndpoint.objects.filter(merchant_id=merchant_id, deleted_at__isnull=True)
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
            subscribed = endpoints_qs.filter(status=WebhookEndpoint.Status.ENABLED, livemode=event.livemode)
            endpoints = [e for e in subscribed.order_by("pk") if endpoint_matches(e, event.type)]
        now = timezone.now()
        deliveries: list[WebhookDelivery] = []
        for endpoint in endpoints:
            delivery = _delivery_get_or_create_locked(event=event, endpoint=endpoint, now=now)
            delivery.status = WebhookDelivery.Status.PENDING
            delivery.attempt_count = 0
            delivery.next_attempt_at = now
            delivery.dispatched_at = now
            delivery.completed_at = None
            delivery.save()
            deliveries.append(delivery)
        _dispatch_on_commit([d.pk for d in deliveries])
    return deliveries


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
