"""Writing the audit log.

``audit_record`` joins the caller's transaction, so the row commits or rolls back with the change
it describes. It is on the ledger's hot path (every posting writes one row), so on PostgreSQL it
costs one statement, a call of the database function ``audit_append`` (migration audit/0003,
also called by the ledger's transfer function), which:

1. locks a chain head: the first stripe, in an order starting at a point derived from the
   correlation id, that no other transaction holds (``FOR UPDATE SKIP LOCKED``). A writer never
   queues behind another writer while a stripe is free, and a transaction that writes several
   rows under one correlation id normally keeps to one stripe;
2. inserts the row with the head's ``seq + 1`` and hash as its ``prev_hash``, and its own hash
   computed by the database: SHA-256 over the row's canonical text (``paysys.audit.chain``),
   which Python renders beforehand with the chain, seq and prev_hash left as gaps the
   function fills in, so both sides hash the same bytes;
3. moves the head.

The head stays locked until the caller commits, so a chain's ``seq`` has no holes from
concurrent writers, and a rolled-back transaction leaves the head where it was. Only when all
``AUDIT_CHAIN_COUNT`` stripes are busy does a writer wait, on its starting stripe. Head rows are
created by ``migrate`` (``AuditConfig.ready``); a writer finding none creates them too. A row
whose text cannot be cut around the gaps (it would have to contain the random marker) is
linked in Python instead.

The statements are in ``paysys.audit.persistence``.

Callers write under READ COMMITTED (the project's default): in a REPEATABLE READ transaction,
locking a head that moved after the snapshot is a serialization failure.
"""

import hashlib
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from moneyed import Money

from paysys import crypto
from paysys.audit import persistence
from paysys.audit.chain import (
    AUDIT_HASH_VERSION,
    audit_amount_normalize,
    audit_created_now,
    audit_metadata_normalize,
    audit_row_canonical,
    audit_row_hash,
)
from paysys.audit.context import ACTOR_TYPES, actor_get
from paysys.audit.models import (
    AUDIT_CHAIN_COUNT,
    CORRELATION_ID_MAX_LENGTH,
    GENESIS_HASH,
    AuditChainHead,
    AuditEvent,
    AuditVerification,
    new_audit_event_id,
)
from paysys.audit.selectors import AuditVerifyReport, audit_chain_verify
from paysys.correlation import correlation_id_get
from paysys.errors import PaysysError

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_DIGEST_PURPOSE = "paysys.audit.idempotency-key"


class AuditRecordError(PaysysError):
    """An audit row that cannot be written as asked (a caller's bug, not a merchant's)."""

    status_code = 500
    error_type = "api_error"
    default_code = "audit_record_invalid"


@dataclass(frozen=True)
class _Head:
    chain: int
    seq: int
    hash: str


def audit_event_build(
    *,
    event_type: str,
    object_type: str,
    object_id: str,
    actor_type: str | None = None,
    actor_id: str | None = None,
    previous_state: str | None = None,
    new_state: str | None = None,
    amount: Decimal | Money | None = None,
    currency: str | None = None,
    merchant_id: str | None = None,
    reason_code: str = "",
    metadata: dict | None = None,
    idempotency_key: str | None = None,
) -> tuple[AuditEvent, int]:
    """The unsaved audit row ``audit_record`` appends, and the stripe its writer starts at.

    The actor (type, id, masked IP) and the idempotency key default to the current
    ``paysys.audit.context`` actor; the key is stored as its keyed digest
    (``audit_idempotency_key_digest``), never verbatim. An explicit ``actor_type`` replaces the
    context's actor (its ``actor_id`` then comes from the argument only). The context actor's
    ``reason``, if any, goes into ``metadata["reason"]`` unless the caller put one there. The
    correlation id is the current one.
    ``amount`` may be a ``Money``, whose currency then stands unless ``currency`` is given.
    """
    if isinstance(amount, Money):
        currency = currency or amount.currency.code
        amount = amount.amount
    context_actor = actor_get()
    if actor_type is None:
        actor_type, actor_id = context_actor.actor_type, context_actor.actor_id
    if actor_type not in ACTOR_TYPES:
        raise AuditRecordError(f"actor_type must be one of {ACTOR_TYPES}, not {actor_type!r}")
    if isinstance(amount, float):
        raise AuditRecordError("amount must be a Decimal or Money, never a float", param="amount")
    if amount is not None and audit_amount_normalize(amount) != amount:
        raise AuditRecordError(f"amount {amount} has more than 3 decimal places", param="amount")
    correlation_id = (correlation_id_get() or "")[:CORRELATION_ID_MAX_LENGTH]
    if context_actor.reason and "reason" not in (metadata or {}):
        metadata = {**(metadata or {}), "reason": context_actor.reason}

    event = AuditEvent(
        event_id=new_audit_event_id(),
        correlation_id=correlation_id,
        idempotency_key=audit_idempotency_key_digest(idempotency_key or context_actor.idempotency_key),
        event_type=event_type,
        previous_state=previous_state or "",
        new_state=new_state or "",
        actor_type=actor_type,
        actor_id=actor_id or "",
        object_type=object_type,
        object_id=object_id,
        amount=audit_amount_normalize(amount),
        currency=(currency or "").upper(),
        merchant_id=merchant_id or "",
        ip_address=context_actor.ip,
        reason_code=reason_code,
        metadata=audit_metadata_normalize(metadata),
        created=audit_created_now(),
    )
    return event, _chain_start(correlation_id)


def audit_idempotency_key_digest(key: str | None) -> str:
    """What the audit log stores of an Idempotency-Key: a keyed hash, never the value a client
    chose (it may hold anything, and the log keeps it forever); "" for none. An operator finds
    a key's rows by the same digest (the admin's search does)."""
    return crypto.keyed_digest(key, purpose=IDEMPOTENCY_KEY_DIGEST_PURPOSE) if key else ""


def audit_record(**fields: Any) -> AuditEvent:
    """Append one audit row in the caller's transaction; ``fields`` are ``audit_event_build``'s."""
    event, start = audit_event_build(**fields)
    with transaction.atomic(savepoint=False):
        _audit_append(event, start=start)
    return event


def _chain_start(correlation_id: str) -> int:
    """Where a writer starts looking for a free stripe: fixed per correlation id, so the rows of
    one request or task tend to share a stripe; random without one."""
    if not correlation_id:
        return random.randrange(AUDIT_CHAIN_COUNT)
    digest = hashlib.blake2b(correlation_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % AUDIT_CHAIN_COUNT


def _chain_link(event: AuditEvent, head: _Head) -> None:
    event.chain = head.chain
    event.seq = head.seq + 1
    event.prev_hash = head.hash
    event.hash = audit_row_hash({f.attname: getattr(event, f.attname) for f in _chained_fields()})


def _chained_fields() -> list:
    return [f for f in AuditEvent._meta.concrete_fields if not f.primary_key and f.attname != "hash"]


# --- Appending: one statement ----------------------------------------------------------------

# The fields the database fills in from the head it locks.
_LINKED_FIELDS = ("chain", "seq", "prev_hash")


def _canonical_gaps(event: AuditEvent) -> list[str] | None:
    """The row's canonical text in four pieces around its chain, prev_hash and seq (in the
    canonical key order), or None if the text cannot be cut unambiguously."""
    marker = secrets.token_hex(8)
    row = {f.attname: getattr(event, f.attname) for f in _chained_fields()}
    row.update({name: f"{marker}{name}" for name in _LINKED_FIELDS})
    text = audit_row_canonical(row).decode("ascii")
    pieces = [text]
    for name in sorted(_LINKED_FIELDS):  # chain, prev_hash, seq: the canonical (sorted) order
        gap = f'"{marker}{name}"'
        if pieces[-1].count(gap) != 1:
            return None
        before, after = pieces.pop().split(gap)
        pieces += [before, after]
    return pieces


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def audit_append_args(event: AuditEvent, *, start: int) -> list | None:
    """The arguments of the database function ``audit_append`` for an unsaved row, or None if
    its canonical text cannot be cut around the chain fields (the row is then linked in Python)."""
    pieces = _canonical_gaps(event)
    if pieces is None:
        return None
    row = {f.attname: getattr(event, f.attname) for f in _chained_fields() if f.attname not in _LINKED_FIELDS}
    pieces[0] = f"{AUDIT_HASH_VERSION}\n{pieces[0]}"
    return [json.dumps(row, default=_json_value), start, AUDIT_CHAIN_COUNT, GENESIS_HASH, *pieces]


def _audit_append(event: AuditEvent, *, start: int) -> None:
    args = audit_append_args(event, start=start)
    if args is None:
        _audit_append_waiting(event, start=start)
        return
    persistence.audit_row_append(event, args)


def _audit_append_waiting(event: AuditEvent, *, start: int) -> None:
    audit_chain_heads_ensure()
    _chain_link(event, _Head(*persistence.audit_head_lock(start=start)))
    persistence.audit_row_insert(event)


def audit_chain_heads_ensure() -> None:
    """Create any missing chain head (each starts empty: seq 0, the genesis hash)."""
    with transaction.atomic(savepoint=False):
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=c, seq=0, hash=GENESIS_HASH) for c in range(AUDIT_CHAIN_COUNT)],
            ignore_conflicts=True,
        )


# --- Verification ----------------------------------------------------------------------------

AUDIT_VERIFIED_EVENT = "audit.verified"
# How many problems one verification row lists; the command prints them all.
AUDIT_VERIFY_MAX_LISTED_PROBLEMS = 50


def audit_verify() -> AuditVerifyReport:
    """Walk every chain (``paysys.audit.selectors.audit_chain_verify``) and keep the outcome in
    the audit log itself: one ``audit.verified`` row, ``new_state`` ``ok`` or ``failed``, the
    counts, the heads' digest and the first problems in its metadata. The digest is logged too
    (an anchor outside the database); a failure is logged as an error. The rows walked are
    stored as an ``AuditVerification`` with the first problems and the time taken: later
    verifications fail if the log holds fewer."""
    started = time.monotonic()
    report = audit_chain_verify()
    listed = [p.__dict__ for p in report.problems[:AUDIT_VERIFY_MAX_LISTED_PROBLEMS]]
    logger.info(
        "audit chain heads digest %s over %d rows",
        report.heads_digest,
        report.rows,
        extra={"heads_digest": report.heads_digest},
    )
    if not report.ok:
        logger.error(
            "audit chain verification failed: %d problems in %d rows",
            len(report.problems),
            report.rows,
            extra={"problems": listed},
        )
    with transaction.atomic(durable=True):
        AuditVerification.objects.create(
            ok=report.ok,
            rows=report.rows,
            chains=report.chains,
            heads_digest=report.heads_digest,
            failures=listed,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        audit_record(
            event_type=AUDIT_VERIFIED_EVENT,
            object_type="audit_log",
            object_id="audit_log",
            new_state="ok" if report.ok else "failed",
            metadata={
                "chains": report.chains,
                "rows": report.rows,
                "problem_count": len(report.problems),
                "heads_digest": report.heads_digest,
                "problems": listed,
            },
        )
    return report
