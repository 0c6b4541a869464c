"""The idempotency app's SQL: a key's lookup and lock, its row, its session-level lock.

``idempotency_key_begin`` and ``idempotency_key_lock_id`` are PostgreSQL functions (migrations of
this app). Every function takes the connection of the request's transaction and joins it.
"""

from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from paysys.idempotency.models import IdempotencyKey

_BEGIN_SQL = (
    "SELECT locked, fingerprint, response_status, response_body, response_content_type, recovery_point "
    "FROM idempotency_key_begin(%s, %s, %s)"
)
# Inserts the key's row, or completes a row without a response (a recovery point) stored for the
# same request; returns nothing when a response is stored already.
_WRITE_SQL = (
    f"INSERT INTO {IdempotencyKey._meta.db_table} AS k (merchant, livemode, key, fingerprint, method, path, "  # noqa: S608
    "recovery_point, response_status, response_body, response_content_type, created) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (merchant, livemode, key) DO UPDATE SET "
    "recovery_point = EXCLUDED.recovery_point, response_status = EXCLUDED.response_status, "
    "response_body = EXCLUDED.response_body, response_content_type = EXCLUDED.response_content_type "
    "WHERE k.response_status IS NULL AND k.fingerprint = EXCLUDED.fingerprint RETURNING id"
)
_SESSION_LOCK_SQL = "SELECT pg_advisory_lock(idempotency_key_lock_id(%s, %s, %s))"
_SESSION_UNLOCK_SQL = "SELECT pg_advisory_unlock(idempotency_key_lock_id(%s, %s, %s))"


def idempotency_key_begin(
    connection: BaseDatabaseWrapper, *, merchant: str, livemode: bool, key: str
) -> tuple[bool, IdempotencyKey | None]:
    """Whether this transaction took the key's lock, and the key's stored row (unsaved instance)."""
    with connection.cursor() as cursor:
        cursor.execute(_BEGIN_SQL, [merchant, livemode, key])
        locked, fingerprint, status, body, content_type, recovery_point = cursor.fetchone()
    if fingerprint is None:
        return locked, None
    return locked, IdempotencyKey(
        merchant=merchant,
        livemode=livemode,
        key=key,
        fingerprint=fingerprint,
        response_status=status,
        response_body=body,
        response_content_type=content_type,
        recovery_point=recovery_point,
    )


def idempotency_key_write(
    connection: BaseDatabaseWrapper,
    *,
    merchant: str,
    livemode: bool,
    key: str,
    fingerprint: str,
    method: str,
    path: str,
    recovery_point: str,
    response_status: int | None,
    response_body: bytes | None,
    response_content_type: str,
) -> bool:
    """Write the key's row; False if a response is stored already (another request's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _WRITE_SQL,
            [
                merchant,
                livemode,
                key,
                fingerprint,
                method,
                path,
                recovery_point,
                response_status,
                response_body,
                response_content_type,
                timezone.now(),
            ],
        )
        return cursor.fetchone() is not None


def idempotency_key_session_lock(
    connection: BaseDatabaseWrapper, *, merchant: str, livemode: bool, key: str, take: bool
) -> None:
    """Take (waiting) or release the key's lock at session level: it outlives commits."""
    with connection.cursor() as cursor:
        cursor.execute(_SESSION_LOCK_SQL if take else _SESSION_UNLOCK_SQL, [merchant, livemode, key])
