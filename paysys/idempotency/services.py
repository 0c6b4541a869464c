"""Idempotency-Key: a POST retried with the same key runs once and replays its response.

Protocol, per (merchant, key):

1. **Claim** in its own short transaction: insert the row ``in_flight`` with the request's
   fingerprint (SHA-256 of method, path and canonical JSON body) and a lease
   (``locked_until``). The unique constraint ``idempotency_idempotencykey_merchant_key_unique``
   makes exactly one concurrent request the owner; the others read the row and get
   a replay (completed, same fingerprint), 422 (other fingerprint) or 409 (still in flight).
2. **Run** in one database transaction that also stores the response: the owner locks its
   row, runs the view and writes status and body bytes on the row, then commits once. The
   business write and the stored response therefore commit together or not at all. Domain
   services open ``atomic(durable=True)``; here the connection is in Django's manual
   transaction mode (autocommit off, no outer ``atomic``), so their blocks run as savepoints
   of this transaction and their ``on_commit`` hooks fire after the single commit.
3. **Crash**: if the process dies mid-run, PostgreSQL rolls the run back and releases the row
   lock; the claim row stays ``in_flight``. Once its lease has passed, a retry with the same
   key and body takes the row over (``SELECT … FOR UPDATE NOWAIT`` fails while a live
   owner still holds it, so a slow request is never run twice) and completes exactly once.
4. A 5xx outcome is not stored: the run is rolled back and the claim deleted, so the client
   may retry. Everything below 500 (201, 400, 402, 404, 409 …) is stored and replayed.

Rows are deleted after ``settings.PAYSYS_IDEMPOTENCY_RETENTION_HOURS`` (24 h) by the beat task
``paysys.idempotency.prune`` and ``manage.py prune_idempotency_keys``.
"""

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone

from paysys.errors import IdempotencyError, InvalidRequestError
from paysys.idempotency.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
PRUNE_BATCH_SIZE = 5_000


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
    """SHA-256 of method, path and the body; JSON bodies canonicalised (key order, spacing)."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _lease() -> timedelta:
    return timedelta(seconds=settings.PAYSYS_IDEMPOTENCY_LEASE_SECONDS)


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(row.response_body), status=row.response_status, content_type=row.response_content_type or None
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


def _claim(
    *, merchant: str, key: str, fingerprint: str, method: str, path: str
) -> tuple[IdempotencyKey, bool]:
    """Insert the key ``in_flight`` unless it exists: one statement, its own transaction.

    ``ON CONFLICT DO NOTHING`` makes exactly one of concurrent claimers the owner (the others
    wait on the unique index for the winner's commit, a few milliseconds, then read its row).
    """
    now = timezone.now()
    table = IdempotencyKey._meta.db_table
    # A single statement: under autocommit it is its own transaction, committed before the run.
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (merchant, key, fingerprint, method, path, status, locked_until, "  # noqa: S608
            "response_content_type, created) VALUES (%s, %s, %s, %s, %s, %s, %s, '', %s) "
            "ON CONFLICT (merchant, key) DO NOTHING RETURNING id",
            [
                merchant,
                key,
                fingerprint,
                method.upper()[:8],
                path[:500],
                IdempotencyKey.Status.IN_FLIGHT,
                now + _lease(),
                now,
            ],
        )
        inserted = cursor.fetchone()
    if inserted is not None:
        return IdempotencyKey(pk=inserted[0], merchant=merchant, key=key, fingerprint=fingerprint), True
    return IdempotencyKey.objects.get(merchant=merchant, key=key), False


def _release(row_pk: int) -> None:
    """Forget a claim whose run failed with a 5xx or an exception: a retry may run afresh."""
    with transaction.atomic():
        IdempotencyKey.objects.filter(pk=row_pk, status=IdempotencyKey.Status.IN_FLIGHT).delete()


def idempotent_run(
    *,
    merchant: str,
    key: str,
    method: str,
    path: str,
    body: bytes,
    execute: Callable[[], HttpResponseBase],
) -> HttpResponseBase:
    """Run ``execute`` (which returns a rendered response) at most once per (merchant, key)."""
    idempotency_key_validate(key)
    fingerprint = request_fingerprint(method=method, path=path, body=body)
    row, created = _claim(merchant=merchant, key=key, fingerprint=fingerprint, method=method, path=path)
    if not created:
        if row.fingerprint != fingerprint:
            raise _mismatch()
        if row.status == IdempotencyKey.Status.COMPLETED:
            return _replay(row)
        if row.locked_until > timezone.now():
            raise _in_use()
    return _run(row_pk=row.pk, takeover=not created, execute=execute)


def _run(*, row_pk: int, takeover: bool, execute: Callable[[], HttpResponseBase]) -> HttpResponseBase:
    connection = transaction.get_connection()
    # Inside a caller's transaction (a test case, a script) the run simply joins it.
    manual = not connection.in_atomic_block
    if manual:
        connection.set_autocommit(False)
    owned = stored = False
    try:
        try:
            # In manual mode a refused lock aborts the transaction, which is rolled back below
            # anyway; inside a caller's transaction a savepoint keeps that transaction usable.
            with transaction.atomic() if not manual else contextlib.nullcontext():
                row = IdempotencyKey.objects.select_for_update(nowait=True).get(pk=row_pk)
        except (DatabaseError, IdempotencyKey.DoesNotExist):
            # A live owner holds the row (or finished and the row was pruned/released).
            raise _in_use() from None
        now = timezone.now()
        if row.status == IdempotencyKey.Status.COMPLETED:
            return _replay(row)
        if takeover and row.locked_until > now:
            raise _in_use()
        row.locked_until = now + _lease()
        owned = True
        response = execute()
        if response.status_code >= 500 or getattr(response, "streaming", False):
            return response
        row.status = IdempotencyKey.Status.COMPLETED
        row.response_status = response.status_code
        row.response_body = response.content
        row.response_content_type = response.get("Content-Type", "")
        row.completed_at = timezone.now()
        row.save(
            update_fields=[
                "status",
                "locked_until",
                "response_status",
                "response_body",
                "response_content_type",
                "completed_at",
            ]
        )
        if manual:
            connection.commit()
        stored = True
        return response
    finally:
        if manual:
            if not stored:
                connection.rollback()
            # Turning autocommit back on runs the on_commit hooks of a committed run.
            connection.set_autocommit(True)
        if owned and not stored and manual:
            _release(row_pk)


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
