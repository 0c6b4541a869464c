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
import os
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from paysys import metrics
from paysys.errors import ConflictError, InvalidRequestError, NotFoundError
from paysys.events import signing
from paysys.events.delivery import (
    OUTCOME_REFUSED,
    OUTCOME_SUCCEEDED,
    OUTCOME_TIMEOUT,
    SendResult,
    webhook_post,
)
from paysys.events.models import (
    Event,
    WebhookDelivery,
    WebhookEndpoint,
    new_webhook_delivery_id,
)
from paysys.events.services import event_emit
from paysys.events.ssrf import url_validate
from paysys.events.types import ENDPOINT_DISABLED_EVENT, EVENT_TYPES, WILDCARD_EVENT
from paysys.tenancy import Tenant

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
# Delivery ids per Celery message (the sweeper's and the fan-out's); the task delivers them
# concurrently on up to PAYSYS_WEBHOOK_DELIVERY_THREADS threads.
WEBHOOK_BATCH_SIZE = 16
DEFAULT_DELIVERY_THREADS = 8
# How long one message's run keeps taking due deliveries (draining) before it hands the rest to
# a new message; it bounds a task's run time to this plus one attempt's timeouts.
WEBHOOK_DRAIN_SECONDS = 5.0
# How far back the sweeper looks for events whose after-commit fan-out never ran (a process
# killed right after the commit). Older misses are left to a manual resend.
WEBHOOK_FANOUT_LOOKBACK = timedelta(minutes=10)
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

# The event types a merchant can subscribe to: every type paysys sends (paysys.events.types).
WEBHOOK_EVENT_TYPES = frozenset(EVENT_TYPES)


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
    return _subscribed(endpoint.enabled_events, event_type)


def _subscribed(enabled_events: Sequence[str] | None, event_type: str) -> bool:
    events = enabled_events or []
    return WILDCARD_EVENT in events or event_type in events


def _endpoint_lock(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    endpoint = (
        tenant.scope(WebhookEndpoint.objects.select_for_update(of=("self",)))
        .filter(public_id=endpoint_id, deleted_at__isnull=True)
        .first()
    )
    if endpoint is None:
        raise NotFoundError(f"No such webhook endpoint: '{endpoint_id}'", param="id")
    return endpoint


def _endpoint_slot_acquire(endpoint_pk: int) -> bool:
    """Take one of the endpoint's in-flight slots for the rest of this transaction.

    Tries every slot, for at most ``WEBHOOK_SLOT_WAIT``; False when all stayed taken. The claim
    (``_CLAIM_BY_ID_SQL``) already tried each slot once; this is the wait that follows.
    """
    deadline = time.monotonic() + WEBHOOK_SLOT_WAIT.total_seconds()
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_SLOT_SQL, _slot_params(endpoint=endpoint_pk))
            if cursor.fetchone()[0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(WEBHOOK_SLOT_POLL_SECONDS)


def _slot_params(**extra: Any) -> dict[str, Any]:
    slots = max(1, _max_in_flight())
    # Start at a random slot: concurrent deliveries then rarely contend for the same one.
    first = random.randrange(slots)
    return {
        "slots": [(first + offset) % slots for offset in range(slots)],
        "namespace": _ENDPOINT_SLOT_LOCK_NAMESPACE,
        "mask": _INT4_MASK,
        **extra,
    }


def retry_delay(attempt_count: int, *, rng: random.Random | None = None) -> timedelta | None:
    """The wait after the ``attempt_count``-th failed attempt, with jitter; None: give up."""
    if attempt_count < 1 or attempt_count > len(WEBHOOK_RETRY_DELAYS):
        return None
    base = WEBHOOK_RETRY_DELAYS[attempt_count - 1]
    factor = (rng or random).uniform(1 - WEBHOOK_RETRY_JITTER, 1 + WEBHOOK_RETRY_JITTER)
    return base * factor


def _dispatch_on_commit(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    ids = list(delivery_ids)
    if ids:
        transaction.on_commit(partial(_dispatch, ids, countdown=countdown), robust=True)


def _dispatch(delivery_ids: list[int], *, countdown: float | None = None) -> None:
    """Send the deliveries' ids, ``WEBHOOK_BATCH_SIZE`` to a message. A broker failure is logged:
    the rows are still due, and the sweeper re-queues them."""
    for start in range(0, len(delivery_ids), WEBHOOK_BATCH_SIZE):
        if not _publish(delivery_ids[start : start + WEBHOOK_BATCH_SIZE], countdown=countdown):
            return


def _publish(delivery_ids: list[int], *, countdown: float | None = None) -> bool:
    from paysys.events.tasks import webhook_deliver_task

    try:
        webhook_deliver_task.apply_async(args=[delivery_ids], queue=webhook_queue(), countdown=countdown)
    except Exception:  # the broker is down; the delivery rows are still due
        logger.exception(
            "webhook dispatch failed; the sweeper will re-queue", extra={"deliveries": delivery_ids[:10]}
        )
        return False
    return True


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
    tenant: Tenant,
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
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
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


def webhook_endpoint_delete(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    """Delete: the endpoint disappears from the API, its unfinished deliveries are abandoned."""
    with transaction.atomic(durable=True):
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
        now = timezone.now()
        endpoint.deleted_at = now
        if endpoint.status == WebhookEndpoint.Status.ENABLED:
            endpoint.status = WebhookEndpoint.Status.DISABLED
            endpoint.disabled_reason = WebhookEndpoint.DisabledReason.MERCHANT
        endpoint.save()
        _deliveries_abandon(endpoint_pk=endpoint.pk, now=now)
    return endpoint


def webhook_endpoint_rotate_secret(*, tenant: Tenant, endpoint_id: str) -> EndpointWithSecret:
    """A new secret; the current one keeps signing (second signature) for 24 hours."""
    secret = signing.secret_generate()
    with transaction.atomic(durable=True):
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = timezone.now() + WEBHOOK_SECRET_ROTATION_OVERLAP
        endpoint.secret_encrypted = signing.secret_encrypt(secret)
        endpoint.save()
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def webhook_endpoint_disable(
    *, tenant: Tenant, endpoint_id: str, reason: str = "operator"
) -> WebhookEndpoint:
    """Disable an endpoint (operators, the admin). No event: the merchant or an operator chose it."""
    if reason not in WebhookEndpoint.DisabledReason.values or not reason:
        raise InvalidRequestError(f"Unknown disable reason {reason!r}.", param="reason")
    with transaction.atomic(durable=True):
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
        if endpoint.status == WebhookEndpoint.Status.DISABLED:
            return endpoint
        _endpoint_set_disabled(endpoint, reason=reason)
        endpoint.save()
    return endpoint


def webhook_endpoint_enable(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    """Enable again; deliveries abandoned meanwhile stay abandoned (resend them if wanted)."""
    with transaction.atomic(durable=True):
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
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
# Test-mode events go to test-mode endpoints only, live to live; an endpoint hears of events
# from its creation on.
_FANOUT_ENDPOINTS_SQL = """
SELECT id FROM events_webhookendpoint
WHERE merchant_id = %(merchant)s AND livemode = %(livemode)s AND status = 'enabled'
  AND deleted_at IS NULL AND created <= %(created)s
  AND (enabled_events @> %(wildcard)s::jsonb OR enabled_events @> %(type)s::jsonb)
ORDER BY id
"""
# The deliveries of one event, in one statement that commits on its own (the caller's transaction
# is over: this runs after the event's commit) and returns the ids it created.
_FANOUT_INSERT_SQL = """
INSERT INTO events_webhookdelivery
    (public_id, event_id, endpoint_id, status, attempt_count, next_attempt_at, dispatched_at, created)
SELECT t.public_id, %(event)s, t.endpoint_id, 'pending', 0, %(now)s, %(now)s, %(now)s
FROM unnest(%(public_ids)s::varchar[], %(endpoints)s::bigint[]) AS t(public_id, endpoint_id)
ON CONFLICT (event_id, endpoint_id) DO NOTHING
RETURNING id
"""


def _fanout_endpoints(event: Event) -> list[int]:
    """The enabled endpoints subscribed to ``event``, oldest first (a hot path: plain SQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _FANOUT_ENDPOINTS_SQL,
            {
                "merchant": event.merchant_id,
                "livemode": event.livemode,
                "created": event.created,
                "wildcard": json.dumps([WILDCARD_EVENT]),
                "type": json.dumps([event.type]),
            },
        )
        return [row[0] for row in cursor.fetchall()]


def webhook_fanout(*, event: Event) -> list[int]:
    """Create the deliveries an event owes and queue them after commit; returns their ids.

    Runs after the event's transaction committed (``event_committed`` receiver), so it costs
    what every committed event costs: one SELECT of the merchant's endpoints (its only query when
    none is subscribed), one INSERT, and one Celery message. Safe to run twice: existing (event,
    endpoint) pairs are left as they are (and not queued again: whoever made them queued them).
    """
    if not event.merchant_id:
        return []
    endpoint_pks = _fanout_endpoints(event)
    if not endpoint_pks:
        return []
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _FANOUT_INSERT_SQL,
            {
                "event": event.pk,
                "now": now,
                "public_ids": [new_webhook_delivery_id() for _ in endpoint_pks],
                "endpoints": endpoint_pks,
            },
        )
        ids = [row[0] for row in cursor.fetchall()]
    # At once outside a transaction; after the caller's commit inside one (tests, a caller that
    # fans out in its own atomic block).
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
# A claim is one statement: it locks the delivery row (SKIP LOCKED), reads what the attempt needs
# from the delivery, its endpoint and its event, turns off the WAL-flush wait of this transaction's
# commit, and, when the delivery is due and its endpoint usable, takes one of the endpoint's slots.
# The CTE is materialized so that the functions of the outer SELECT only run for a row this
# transaction locked. ``_CLAIM_NEXT_DUE_SQL`` is the same with "the due delivery that has waited
# longest" for "this delivery".
#
# Why ``synchronous_commit = off``: a commit lost in a database crash only means the delivery is
# made once more, with the same webhook-id (at-least-once holds); the flush wait was the largest
# share of a delivery's database time. Nothing else (no ledger write) shares this transaction.
_CLAIM_SELECT = """
SELECT d.id, d.status, d.attempt_count, d.next_attempt_at,
       e.id, e.url, (e.status = 'enabled' AND e.deleted_at IS NULL),
       e.secret_encrypted, e.previous_secret_encrypted, e.previous_secret_expires_at, e.failing_since,
       ev.id, ev.public_id, ev.type, ev.created, ev.livemode, ev.data,
       set_config('synchronous_commit', 'off', true),
       CASE WHEN d.status IN ('pending', 'failed') AND d.next_attempt_at <= %(now)s
                 AND e.status = 'enabled' AND e.deleted_at IS NULL
            THEN EXISTS (
                SELECT FROM unnest(%(slots)s::int[]) AS slot
                WHERE pg_try_advisory_xact_lock(%(namespace)s::int + slot, (e.id & %(mask)s)::int)
            )
       END
FROM d
JOIN events_webhookendpoint e ON e.id = d.endpoint_id
JOIN events_event ev ON ev.id = d.event_id
"""
_CLAIM_BY_ID_SQL = (
    """
WITH d AS MATERIALIZED (
    SELECT id, event_id, endpoint_id, status, attempt_count, next_attempt_at
    FROM events_webhookdelivery
    WHERE id = %(id)s
    FOR UPDATE SKIP LOCKED
)"""  # noqa: S608 (constants only: no value is formatted into SQL)
    + _CLAIM_SELECT
)
_CLAIM_NEXT_DUE_SQL = (
    """
WITH d AS MATERIALIZED (
    SELECT id, event_id, endpoint_id, status, attempt_count, next_attempt_at
    FROM events_webhookdelivery
    WHERE status IN ('pending', 'failed') AND next_attempt_at <= %(now)s
      AND endpoint_id <> ALL(%(skip)s::bigint[])
    ORDER BY next_attempt_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)"""  # noqa: S608 (constants only: no value is formatted into SQL)
    + _CLAIM_SELECT
)
# Tries every slot of one endpoint, stopping at the first it gets.
_SLOT_SQL = """
SELECT EXISTS (
    SELECT FROM unnest(%(slots)s::int[]) AS slot
    WHERE pg_try_advisory_xact_lock(%(namespace)s::int + slot, (%(endpoint)s::bigint & %(mask)s)::int)
), set_config('synchronous_commit', 'off', true)
"""
# The attempt row and the delivery's new state, in one statement.
_RECORD_SQL = """
WITH attempt AS (
    INSERT INTO events_webhookattempt
        (delivery_id, outcome, status_code, latency_ms, response_excerpt, error, created)
    VALUES (%(id)s, %(outcome)s, %(status_code)s, %(latency_ms)s, %(excerpt)s, %(error)s, %(at)s)
)
UPDATE events_webhookdelivery
SET status = %(status)s, attempt_count = %(attempt_count)s, next_attempt_at = %(next_attempt_at)s,
    dispatched_at = NULL, last_attempt_at = %(at)s, last_status_code = %(status_code)s,
    completed_at = %(completed_at)s
WHERE id = %(id)s
"""


@dataclass(frozen=True)
class _Claim:
    """A delivery row this transaction has locked, with what its next attempt needs."""

    delivery_id: int
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    endpoint_pk: int
    url: str
    endpoint_usable: bool  # enabled and not deleted
    secret_encrypted: str
    previous_secret_encrypted: str
    previous_secret_expires_at: datetime | None
    failing_since: datetime | None
    event: Event
    # True: this transaction holds one of the endpoint's slots; False: all were taken; None: not
    # tried (the delivery is finished or not due, or the endpoint is not usable).
    slot_taken: bool | None


def _delivery_claim(
    *, delivery_id: int | None, now: datetime, skip_endpoints: Iterable[int] = ()
) -> _Claim | None:
    """Lock one delivery (``delivery_id``, or the longest-waiting due one not to ``skip_endpoints``).

    None when there is none, or another transaction holds it (SKIP LOCKED).
    """
    if delivery_id is not None:
        sql, params = _CLAIM_BY_ID_SQL, _slot_params(id=delivery_id, now=now)
    else:
        sql, params = _CLAIM_NEXT_DUE_SQL, _slot_params(now=now, skip=sorted(skip_endpoints))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    (
        claimed_id, status, attempt_count, next_attempt_at,
        endpoint_pk, url, usable, secret, previous_secret, previous_expires_at, failing_since,
        event_pk, event_public_id, event_type, event_created, event_livemode, event_data,
        _synchronous_commit, slot_taken,
    ) = row  # fmt: skip
    event = Event(
        id=event_pk,
        public_id=event_public_id,
        type=event_type,
        created=event_created,
        livemode=event_livemode,
        data=json.loads(event_data) if isinstance(event_data, str | bytes) else event_data,
    )
    return _Claim(
        claimed_id, status, attempt_count, next_attempt_at,
        endpoint_pk, url, usable, secret, previous_secret, previous_expires_at, failing_since,
        event, slot_taken,
    )  # fmt: skip


def _signing_secrets(claim: _Claim, now: datetime) -> list[str]:
    secrets_ = [signing.secret_decrypt(claim.secret_encrypted)]
    if (
        claim.previous_secret_encrypted
        and claim.previous_secret_expires_at is not None
        and claim.previous_secret_expires_at > now
    ):
        secrets_.append(signing.secret_decrypt(claim.previous_secret_encrypted))
    return secrets_


_Metric = tuple[str, float | None]


def webhook_deliver(*, delivery_id: int) -> str:
    """Make the next attempt of one delivery, if it is due and no one else is making it.

    Holds the delivery's row lock through the HTTP request (bounded by the connect and read
    timeouts), then records the attempt and its consequences in the same transaction.
    ``webhook_deliver_batch`` (the Celery task's entry point) runs this for each id it is given.
    """
    now = timezone.now()
    with transaction.atomic(durable=True):
        claim = _delivery_claim(delivery_id=delivery_id, now=now)
        if claim is None:
            exists = WebhookDelivery.objects.filter(pk=delivery_id).exists()
            return RESULT_SKIPPED_LOCKED if exists else RESULT_MISSING
        result, metric = _attempt(claim, now=now, wait_for_slot=True)
    _metric_record(metric)
    return result


class _ClaimedAttemptError(Exception):
    """An attempt of a claimed delivery raised; carries its endpoint so a drain can skip it."""

    def __init__(self, endpoint_pk: int) -> None:
        super().__init__(endpoint_pk)
        self.endpoint_pk = endpoint_pk


def _deliver_next_due(*, skip_endpoints: Iterable[int]) -> tuple[str, int] | None:
    """Make the attempt of the longest-waiting due delivery nobody holds: (result, its endpoint).

    None when nothing is due (or everything due is held, or belongs to ``skip_endpoints``). An
    endpoint whose slots are all taken is not waited for: its delivery is put back at once.
    """
    now = timezone.now()
    with transaction.atomic(durable=True):
        claim = _delivery_claim(delivery_id=None, now=now, skip_endpoints=skip_endpoints)
        if claim is None:
            return None
        try:
            result, metric = _attempt(claim, now=now, wait_for_slot=False)
        except Exception as exc:
            raise _ClaimedAttemptError(claim.endpoint_pk) from exc
    _metric_record(metric)
    return result, claim.endpoint_pk


def _attempt(claim: _Claim, *, now: datetime, wait_for_slot: bool) -> tuple[str, _Metric | None]:
    """The attempt of a claimed delivery, in the claim's transaction: (result, metric to record)."""
    if claim.status not in _UNFINISHED:
        return RESULT_SKIPPED_DONE, None
    if claim.next_attempt_at is not None and claim.next_attempt_at > now:
        return RESULT_SKIPPED_NOT_DUE, None
    if not claim.endpoint_usable:
        WebhookDelivery.objects.filter(pk=claim.delivery_id).update(
            status=WebhookDelivery.Status.ABANDONED,
            next_attempt_at=None,
            dispatched_at=None,
            completed_at=now,
        )
        return RESULT_ABANDONED, None
    if not claim.slot_taken and not (wait_for_slot and _endpoint_slot_acquire(claim.endpoint_pk)):
        WebhookDelivery.objects.filter(pk=claim.delivery_id).update(
            next_attempt_at=now + WEBHOOK_BUSY_DELAY, dispatched_at=now
        )
        _dispatch_on_commit([claim.delivery_id], countdown=WEBHOOK_BUSY_DELAY.total_seconds())
        return RESULT_ENDPOINT_BUSY, None

    body = event_body(claim.event)
    headers = signing.headers_build(
        msg_id=claim.event.public_id,
        timestamp=int(now.timestamp()),
        body=body,
        secrets_=_signing_secrets(claim, now),
    )
    sent = webhook_post(url=claim.url, headers=headers, body=body)
    finished_at = timezone.now()
    attempt_count = claim.attempt_count + 1
    seconds = sent.latency_ms / 1000 if sent.status_code is not None and sent.latency_ms is not None else None
    disable_reason: str | None = None
    next_attempt_at: datetime | None = None
    if sent.outcome == OUTCOME_SUCCEEDED:
        status, result = WebhookDelivery.Status.SUCCEEDED, RESULT_DELIVERED
        metric: _Metric = (OUTCOME_SUCCEEDED, seconds)
    elif sent.status_code == 410:
        status, result = WebhookDelivery.Status.ABANDONED, RESULT_ABANDONED
        disable_reason = WebhookEndpoint.DisabledReason.GONE
        metric = ("failed", seconds)
    else:
        metric = (sent.outcome if sent.outcome in (OUTCOME_TIMEOUT, OUTCOME_REFUSED) else "failed", seconds)
        failing_since = _endpoint_failing_since(claim, now=finished_at)
        delay = retry_delay(attempt_count)
        if failing_since is not None and finished_at - failing_since >= WEBHOOK_DISABLE_AFTER:
            status, result = WebhookDelivery.Status.ABANDONED, RESULT_ABANDONED
            disable_reason = WebhookEndpoint.DisabledReason.FAILING
        elif delay is None:
            status, result = WebhookDelivery.Status.ABANDONED, RESULT_ABANDONED
        else:
            status, result = WebhookDelivery.Status.FAILED, RESULT_RETRY_SCHEDULED
            next_attempt_at = finished_at + delay
    _attempt_record(
        claim,
        sent=sent,
        at=finished_at,
        status=status,
        attempt_count=attempt_count,
        next_attempt_at=next_attempt_at,
    )
    if status == WebhookDelivery.Status.SUCCEEDED and claim.failing_since is not None:
        # Only the first success after failures writes the endpoint row: a healthy endpoint's
        # row is neither written nor locked by its deliveries.
        WebhookEndpoint.objects.filter(pk=claim.endpoint_pk, failing_since__isnull=False).update(
            failing_since=None
        )
    if disable_reason is not None:
        _endpoint_disable_automatically(endpoint_pk=claim.endpoint_pk, reason=disable_reason, now=finished_at)
    return result, metric


def _endpoint_failing_since(claim: _Claim, *, now: datetime) -> datetime | None:
    """Since when the endpoint has failed, marking it failing from ``now`` if it was not."""
    if claim.failing_since is not None and now - claim.failing_since < WEBHOOK_DISABLE_AFTER:
        return claim.failing_since  # already failing, and not for long enough to matter: no write
    # Only the first failure after a success writes the endpoint row; read it back, because a
    # success may have cleared it since the claim (the 3-day rule must not act on a stale value).
    WebhookEndpoint.objects.filter(pk=claim.endpoint_pk, failing_since__isnull=True).update(failing_since=now)
    return (
        WebhookEndpoint.objects.filter(pk=claim.endpoint_pk).values_list("failing_since", flat=True).first()
    )


def _attempt_record(
    claim: _Claim,
    *,
    sent: SendResult,
    at: datetime,
    status: str,
    attempt_count: int,
    next_attempt_at: datetime | None,
) -> None:
    finished = status in (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.ABANDONED)
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SQL,
            {
                "id": claim.delivery_id,
                "outcome": sent.outcome,
                "status_code": sent.status_code,
                "latency_ms": sent.latency_ms,
                "excerpt": sent.response_excerpt,
                "error": sent.error,
                "at": at,
                "status": status,
                "attempt_count": attempt_count,
                "next_attempt_at": next_attempt_at,
                "completed_at": at if finished else None,
            },
        )


def _metric_record(metric: _Metric | None) -> None:
    if metric is not None:
        metrics.webhook_delivery_record(outcome=metric[0], seconds=metric[1])


# --- many attempts per message --------------------------------------------------------------------
def webhook_deliver_batch(*, delivery_ids: Sequence[int], drain: bool = True) -> dict[str, int]:
    """Deliver ``delivery_ids`` concurrently, then, with ``drain``, whatever else is due.

    The Celery task's entry point. Each delivery is still its own transaction holding its own
    row lock (``webhook_deliver``), on a thread of this process's delivery pool (at most
    ``PAYSYS_WEBHOOK_DELIVERY_THREADS``). Draining, each thread goes on taking the longest-waiting
    due delivery nobody holds (SKIP LOCKED) until none is left or ``WEBHOOK_DRAIN_SECONDS`` have
    passed; a backlog thus costs one Celery message per batch, not per delivery, and more threads
    join while there is work. A run cut short by that budget queues one more message for the rest.

    Returns how many deliveries ended in each result (``RESULT_*``, and ``error``).
    """
    ids = list(dict.fromkeys(delivery_ids))
    run = _DeliveryRun(ids=ids, drain=drain, threads=_delivery_threads())
    run.run()
    if run.cut_short:
        _publish([])  # a message with no ids: drain again
    return dict(run.counts)


RESULT_ERROR = "error"


class _DeliveryRun:
    """One message's work on the delivery pool: the ids it names, then (draining) any due ones."""

    def __init__(self, *, ids: list[int], drain: bool, threads: int) -> None:
        self._ids = deque(ids)
        self._drain = drain
        self._threads = max(1, threads)
        self._deadline = time.monotonic() + WEBHOOK_DRAIN_SECONDS
        self._done = threading.Condition()
        self._active = 0
        # Endpoints this run leaves alone: every slot taken, or an attempt that raised.
        self._skip: set[int] = set()
        self.counts: Counter[str] = Counter()
        self.cut_short = False

    def run(self) -> None:
        with self._done:
            for _ in range(min(self._threads, max(1, len(self._ids)))):
                self._spawn()
            while self._active:
                self._done.wait()

    def _spawn(self) -> None:  # with self._done held
        self._active += 1
        try:
            _delivery_pool().submit(self._work)
        except RuntimeError:  # the pool is shutting down (interpreter exit)
            self._active -= 1

    def _work(self) -> None:
        # A pool thread keeps its database connection between runs, like a request would: the
        # usual age and health rules apply at the start and end of each run's share of work.
        close_old_connections()
        try:
            while (delivery_id := self._next_id()) is not None:
                try:
                    self._count(webhook_deliver(delivery_id=delivery_id))
                except Exception:
                    logger.exception("webhook delivery failed", extra={"delivery": delivery_id})
                    self._count(RESULT_ERROR)
            while self._drain:
                if time.monotonic() >= self._deadline:
                    self.cut_short = True
                    return
                try:
                    taken = _deliver_next_due(skip_endpoints=self._skipped())
                except _ClaimedAttemptError as exc:
                    logger.exception("webhook delivery failed", extra={"endpoint": exc.endpoint_pk})
                    self._skip_add(exc.endpoint_pk)
                    self._count(RESULT_ERROR)
                    continue
                if taken is None:
                    return
                result, endpoint_pk = taken
                if result == RESULT_ENDPOINT_BUSY:
                    self._skip_add(endpoint_pk)
                self._count(result, found_work=result != RESULT_ENDPOINT_BUSY)
        except Exception:  # the database went away: what is left stays due for the sweeper
            logger.exception("webhook delivery run stopped")
        finally:
            close_old_connections()
            with self._done:
                self._active -= 1
                self._done.notify_all()

    def _skipped(self) -> frozenset[int]:
        with self._done:
            return frozenset(self._skip)

    def _skip_add(self, endpoint_pk: int) -> None:
        with self._done:
            self._skip.add(endpoint_pk)

    def _next_id(self) -> int | None:
        with self._done:
            return self._ids.popleft() if self._ids else None

    def _count(self, result: str, *, found_work: bool = False) -> None:
        with self._done:
            self.counts[result] += 1
            # Work was waiting: one more thread joins (up to the limit) until the backlog is gone.
            if found_work and self._active < self._threads:
                self._spawn()


def _delivery_threads() -> int:
    return int(getattr(settings, "PAYSYS_WEBHOOK_DELIVERY_THREADS", DEFAULT_DELIVERY_THREADS))


class _DeliveryPool:
    """This process's delivery threads, made on first use (after a prefork worker has forked)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executor: ThreadPoolExecutor | None = None

    def get(self) -> ThreadPoolExecutor:
        with self.lock:
            if self.executor is None:
                self.executor = ThreadPoolExecutor(
                    max_workers=max(1, _delivery_threads()), thread_name_prefix="webhook-delivery"
                )
            return self.executor

    def forget(self) -> None:
        # A forked child has none of its parent's threads (and maybe a lock some thread held).
        self.lock = threading.Lock()
        self.executor = None


_delivery_pool_state = _DeliveryPool()
_delivery_pool = _delivery_pool_state.get
os.register_at_fork(after_in_child=_delivery_pool_state.forget)


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
