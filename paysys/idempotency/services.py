"""Idempotency-Key: a POST retried with the same key runs once and replays its response.

Protocol, per (merchant, mode, key) — a test key and a live key never share a stored response —
in one database transaction:

1. **Look up and lock.** A stored response for the key is replayed if the request's
   fingerprint (SHA-256 of method, path and canonical JSON body) matches it, else the request
   is a 422. With none stored, the request takes a transaction-scoped advisory lock on the key
   (PostgreSQL, ``idempotency_key_begin``); a second request with the key while the first holds
   it gets a 409 at once.
2. **Run and store.** The view runs with the connection in Django's manual transaction mode
   (autocommit off, no outer ``atomic``): domain services open ``atomic(durable=True)``, so
   their blocks run as savepoints of this transaction and their ``on_commit`` hooks fire after
   the single commit. The rendered response is inserted as the key's row and the transaction
   commits once: the business write and the stored response commit together or not at all.
   A run the database refused mid-way (a statement raised outside any savepoint, which aborts
   the transaction) wrote nothing that can commit: it is rolled back and its error response is
   stored in a transaction of its own.
3. **Crash.** If the process dies mid-run, PostgreSQL rolls everything back and releases the
   lock: nothing of the request remains, and a retry with the same key runs it afresh, once.
4. A 5xx outcome is not stored: the run is rolled back and a retry may run afresh. Everything
   below 500 (201, 400, 402, 404, 409 …) is stored and replayed byte for byte.

At rest: the response body is stored encrypted (``paysys.crypto``; a response may show a
``whsec_`` or ``sk_`` secret once) and decrypted for the replay; the request's fingerprint is a
keyed hash (a card payment's body holds the card number, which a plain hash would let anyone
holding the table recover by trying the few numbers that fit its stored brand and last four).

The unique constraint ``idempotency_idempotencykey_merchant_mode_key_unique`` stays the arbiter: a
row that appeared anyway between the lookup and the insert (SQLite has no advisory locks;
its writers are serialised instead) rolls the run back with a 409, and the retry replays.
Inside a caller's transaction (a test case, a script) the run simply joins it.

Rows are deleted after ``settings.PAYSYS_IDEMPOTENCY_RETENTION_HOURS`` (24 h) by the beat task
``paysys.idempotency.prune`` and ``manage.py prune_idempotency_keys``.
"""

import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone

from paysys import crypto
from paysys.errors import IdempotencyError, InvalidRequestError
from paysys.idempotency.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
PRUNE_BATCH_SIZE = 5_000
FINGERPRINT_PURPOSE = "paysys.idempotency.fingerprint"


class IdempotencyKeyInUseError(IdempotencyError):
    """The first request with this key is still running."""

    status_code = 409
    default_code = "idempotency_key_in_use"


def idempotency_key_validate(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequestError(
            f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable characters.",
            code="invalid_idempotency_key",
            param=HEADER,
        )
    return key


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    """Keyed SHA-256 of method, path and the body; JSON bodies canonicalised (key order, spacing)."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, RecursionError):
        # Not JSON, or JSON the API refuses (too deep, a lone surrogate): the raw bytes, and the
        # view answers the 400.
        canonical = body
    digest = crypto.keyed_hasher(FINGERPRINT_PURPOSE)
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        crypto.decrypt(bytes(row.response_body)),
        status=row.response_status,
        content_type=row.response_content_type or None,
    )
    response[REPLAYED_HEADER] = "true"
    return response


def _mismatch() -> IdempotencyError:
    return IdempotencyError(
        "This Idempotency-Key was used with a different request (method, path or body).", param=HEADER
    )


def _in_use() -> IdempotencyKeyInUseError:
    return IdempotencyKeyInUseError(
        "A request with this Idempotency-Key is still being processed; retry later.", param=HEADER
    )


def _begin(
    connection: BaseDatabaseWrapper, *, merchant: str, livemode: bool, key: str
) -> tuple[bool, IdempotencyKey | None]:
    """Step 1: whether this request may run the key (it holds the key's lock), and the stored row."""
    if connection.vendor != "postgresql":
        return True, IdempotencyKey.objects.filter(merchant=merchant, livemode=livemode, key=key).first()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT locked, fingerprint, response_status, response_body, response_content_type "
            "FROM idempotency_key_begin(%s, %s, %s)",
            [merchant, livemode, key],
        )
        locked, fingerprint, status, body, content_type = cursor.fetchone()
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
    )


def _store(
    connection: BaseDatabaseWrapper,
    *,
    merchant: str,
    livemode: bool,
    key: str,
    fingerprint: str,
    method: str,
    path: str,
    response: HttpResponseBase,
) -> bool:
    """Step 2's insert; False if the key's row exists after all."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {IdempotencyKey._meta.db_table} (merchant, livemode, key, fingerprint, method, path, "  # noqa: S608
            "response_status, response_body, response_content_type, created) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (merchant, livemode, key) DO NOTHING"
            " RETURNING id",
            [
                merchant,
                livemode,
                key,
                fingerprint,
                method.upper()[:8],
                path[:500],
                response.status_code,
                crypto.encrypt(response.content),
                response.get("Content-Type", "")[:100],
                timezone.now(),
            ],
        )
        return cursor.fetchone() is not None


def idempotent_run(
    *,
    merchant: str,
    livemode: bool,
    key: str,
    method: str,
    path: str,
    body: bytes,
    execute: Callable[[], HttpResponseBase],
) -> HttpResponseBase:
    """Run ``execute`` (which returns a rendered response) at most once per (merchant, mode, key)."""
    idempotency_key_validate(key)
    fingerprint = request_fingerprint(method=method, path=path, body=body)
    connection = transaction.get_connection()
    manual = not connection.in_atomic_block
    if manual:
        connection.set_autocommit(False)
    committed = False
    try:
        locked, stored = _begin(connection, merchant=merchant, livemode=livemode, key=key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise _mismatch()
            return _replay(stored)
        if not locked:
            raise _in_use()
        response = execute()
        if response.status_code >= 500 or getattr(response, "streaming", False):
            return response
        if manual and connection.needs_rollback:
            # The database refused the run (a statement raised with no savepoint around it):
            # none of it can commit. Roll it back and store the error response on its own.
            connection.rollback()
        if not _store(
            connection,
            merchant=merchant,
            livemode=livemode,
            key=key,
            fingerprint=fingerprint,
            method=method,
            path=path,
            response=response,
        ):
            raise _in_use()
        if manual:
            connection.commit()
        committed = True
        return response
    finally:
        if manual:
            if not committed:
                connection.rollback()
            # Turning autocommit back on runs the on_commit hooks of a committed run.
            connection.set_autocommit(True)


def idempotency_keys_prune(*, older_than: timedelta | None = None) -> int:
    """Delete keys older than the retention (24 h by default), in batches; returns the count."""
    if older_than is None:
        older_than = timedelta(hours=settings.PAYSYS_IDEMPOTENCY_RETENTION_HOURS)
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        with transaction.atomic(durable=True):
            batch = list(
                IdempotencyKey.objects.filter(created__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:PRUNE_BATCH_SIZE]
            )
            if not batch:
                return deleted
            deleted += IdempotencyKey.objects.filter(pk__in=batch).delete()[0]
