"""The canonical form of an audit row and its hash.

``audit_row_hash`` is SHA-256 (hex) over ``AUDIT_HASH_VERSION`` and the row's canonical JSON:
every chained field, keys sorted, no whitespace, non-ASCII escaped, the amount as a fixed
3-decimal string, ``created`` as an ISO 8601 UTC string with microseconds, metadata as canonical
JSON too, and ``prev_hash`` (so each row commits to its whole chain before it). The writer and
``verify_audit`` both call this function on values that round-trip through the database
unchanged (``audit_metadata_normalize``), so a stored row hashes the same when read back.
"""

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

AUDIT_HASH_VERSION = "v1"
AMOUNT_QUANTUM = Decimal("0.001")

# Every field a hash covers, in the order of AuditEvent; changing this list is a new version.
CHAINED_FIELDS = (
    "event_id",
    "correlation_id",
    "idempotency_key",
    "event_type",
    "previous_state",
    "new_state",
    "actor_type",
    "actor_id",
    "object_type",
    "object_id",
    "amount",
    "currency",
    "merchant_id",
    "ip_address",
    "reason_code",
    "metadata",
    "created",
    "chain",
    "seq",
    "prev_hash",
)


def audit_amount_normalize(amount: Decimal | None) -> Decimal | None:
    """The amount as NUMERIC(19, 3) stores it."""
    if amount is None:
        return None
    return Decimal(amount).quantize(AMOUNT_QUANTUM)


def audit_metadata_normalize(metadata: dict | None) -> dict:
    """Metadata as the JSON column gives it back: Decimals, datetimes and floats become strings
    (a float's text would not survive jsonb's numeric type byte for byte)."""
    if not metadata:
        return {}
    return json.loads(json.dumps(metadata, cls=DjangoJSONEncoder), parse_float=str)


def _canonical_value(name: str, value: Any) -> Any:
    if name == "amount":
        return None if value is None else format(audit_amount_normalize(value), "f")
    if name == "created":
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def audit_row_canonical(row: dict[str, Any]) -> bytes:
    payload = {name: _canonical_value(name, row[name]) for name in CHAINED_FIELDS}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def audit_row_hash(row: dict[str, Any]) -> str:
    digest = hashlib.sha256(AUDIT_HASH_VERSION.encode("ascii"))
    digest.update(b"\n")
    digest.update(audit_row_canonical(row))
    return digest.hexdigest()


def audit_created_now() -> datetime:
    return datetime.now(UTC)
