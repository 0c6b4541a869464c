"""The events app's SQL: every statement the webhook services send other than through the ORM.

Hot paths only, each one statement: the fan-out of a committed event (which endpoints, then its
deliveries), the claim of a delivery for an attempt, the wait for an endpoint's in-flight slot,
and the record of an attempt. Services (``paysys.events.webhook_services``) decide what to do;
this module knows the tables, the locks and the rows.

Per-endpoint slots are PostgreSQL advisory locks at transaction level, keyed (namespace + slot,
endpoint id) as two int4: a transaction holds at most one slot of an endpoint, released with it.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from paysys.events.delivery import SendResult
from paysys.events.models import Event, new_webhook_delivery_id
from paysys.events.types import WILDCARD_EVENT

_ENDPOINT_SLOT_LOCK_NAMESPACE = 0x5748_0000
_INT4_MASK = 0x7FFF_FFFF

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


def fanout_endpoint_ids(event: Event) -> list[int]:
    """The enabled endpoints subscribed to ``event``, oldest first."""
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


def fanout_deliveries_insert(*, event_pk: int, endpoint_pks: Sequence[int], now: datetime) -> list[int]:
    """Insert the pending deliveries of an event to ``endpoint_pks``, due ``now`` and marked
    dispatched; returns the ids of those created (an existing (event, endpoint) pair is left)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _FANOUT_INSERT_SQL,
            {
                "event": event_pk,
                "now": now,
                "public_ids": [new_webhook_delivery_id() for _ in endpoint_pks],
                "endpoints": list(endpoint_pks),
            },
        )
        return [row[0] for row in cursor.fetchall()]


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
class Claim:
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


def _slot_params(slots: Sequence[int], **extra: object) -> dict[str, object]:
    return {"slots": list(slots), "namespace": _ENDPOINT_SLOT_LOCK_NAMESPACE, "mask": _INT4_MASK, **extra}


def delivery_claim(
    *, delivery_id: int | None, now: datetime, slots: Sequence[int], skip_endpoints: Iterable[int] = ()
) -> Claim | None:
    """Lock one delivery (``delivery_id``, or the longest-waiting due one not to ``skip_endpoints``)
    and, if it is due, try the endpoint's ``slots`` in the order given.

    None when there is none, or another transaction holds it (SKIP LOCKED).
    """
    if delivery_id is not None:
        sql, params = _CLAIM_BY_ID_SQL, _slot_params(slots, id=delivery_id, now=now)
    else:
        sql, params = _CLAIM_NEXT_DUE_SQL, _slot_params(slots, now=now, skip=sorted(skip_endpoints))
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
    return Claim(
        claimed_id, status, attempt_count, next_attempt_at,
        endpoint_pk, url, usable, secret, previous_secret, previous_expires_at, failing_since,
        event, slot_taken,
    )  # fmt: skip


def endpoint_slot_try(*, endpoint_pk: int, slots: Sequence[int]) -> bool:
    """Take the first free one of the endpoint's ``slots`` for the rest of this transaction."""
    with connection.cursor() as cursor:
        cursor.execute(_SLOT_SQL, _slot_params(slots, endpoint=endpoint_pk))
        return bool(cursor.fetchone()[0])


def attempt_record(
    *,
    delivery_id: int,
    sent: SendResult,
    at: datetime,
    status: str,
    attempt_count: int,
    next_attempt_at: datetime | None,
    completed_at: datetime | None,
) -> None:
    """Insert the attempt row and move the delivery to its new state."""
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SQL,
            {
                "id": delivery_id,
                "outcome": sent.outcome,
                "status_code": sent.status_code,
                "latency_ms": sent.latency_ms,
                "excerpt": sent.response_excerpt,
                "error": sent.error,
                "at": at,
                "status": status,
                "attempt_count": attempt_count,
                "next_attempt_at": next_attempt_at,
                "completed_at": completed_at,
            },
        )
