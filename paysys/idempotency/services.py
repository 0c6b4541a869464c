"""Idempotency-Key: a POST retried with the same key runs once and replays its response.

Protocol, per (merchant, mode, key) — a test key and a live key never share a stored response:

1. **Look up and lock.** A stored response for the key is replayed if the request's
   fingerprint (keyed SHA-256 of method, path and canonical JSON body) matches it, else the request
   is a 422 (also while a row without a response, a recovery point, is stored). Otherwise the
   request takes the key's advisory lock (PostgreSQL, ``idempotency_key_begin``, transaction
   level); a second request with the key while the first holds it gets a 409 at once.
2. **Run.** The view runs with the connection in Django's manual transaction mode (autocommit
   off, no outer ``atomic``): domain services open ``atomic(durable=True)``, so their blocks run
   as savepoints of the request's transaction and their ``on_commit`` hooks fire after its
   commit. A request that calls nothing outside the database (a transfer) commits once, at
   step 4: the business write and the stored response commit together or not at all.
3. **Checkpoint before an outside call.** A service about to call a system whose effect no
   rollback can undo (the processor) first calls ``idempotency_checkpoint(recovery_point=...)``
   from outside its atomic blocks: the request takes the key's lock at session level (so it
   outlives the commits and dies with the process), writes the key's row without a response but
   with the recovery point (an opaque string the service chooses: payments name the processor
   operation about to be sent), and commits what it did so far; the commit's hooks run. The
   outside call then runs with no transaction open, and what it answers is applied in the next
   phase. A retry that finds a row without a response, once it holds the lock, runs the view
   again with ``idempotency_resume_point()`` naming that point, and the service resumes there
   instead of starting over (payments re-send the operation under its reference; the processor
   answers a reference it has seen with its first result). What nobody retries is finished by
   the domain's own recovery (``payments_resolve_processing``).
4. **Store.** The rendered response is written into the key's row (inserted, or the recovery
   point's row completed) and the transaction commits; a checkpointed request then releases
   its session lock. A run the database refused mid-way (a statement raised outside any
   savepoint, which aborts the transaction) is rolled back to its last commit and its error
   response stored in a transaction of its own. A 5xx outcome is not stored: the run is
   rolled back to its last commit and a retry runs afresh, or resumes from its checkpoint.
   Everything below 500 (201, 400, 402, 404, 409 …) is stored and replayed byte for byte.
5. **Crash.** If the process dies, PostgreSQL rolls back the open phase and, as the session
   ends, releases the lock: a retry runs afresh (no checkpoint was committed) or resumes.

At rest: the response body is stored encrypted (``paysys.crypto``; a response may show a
``whsec_`` or ``sk_`` secret once) and decrypted for the replay; the request's fingerprint is a
keyed hash (a card payment's body holds the card number, which a plain hash would let anyone
holding the table recover by trying the few numbers that fit its stored brand and last four).

The unique constraint ``idempotency_idempotencykey_merchant_mode_key_unique`` stays the arbiter: a
response that appeared anyway between the lookup and the write rolls the run back with a 409,
and the retry replays.
Inside a caller's transaction (a test case, a script) the run simply joins it and a
checkpoint commits nothing.

Rows are deleted after ``settings.PAYSYS_IDEMPOTENCY_RETENTION_HOURS`` (24 h) by the beat task
``paysys.idempotency.prune`` and ``manage.py prune_idempotency_keys``.

The statements themselves are in ``paysys.idempotency.persistence``.
"""

import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone

from paysys import crypto
from paysys.errors import IdempotencyError, InvalidRequestError
from paysys.idempotency import persistence
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


@dataclass
class _Run:
    """The keyed request running on this thread (step 2 on)."""

    merchant: str
    livemode: bool
    key: str
    fingerprint: str
    method: str
    path: str
    # The manual transaction is the request's own (not a caller's): checkpoints may commit.
    manual: bool
    # Where a previous attempt left off (step 3), "" for a first run.
    resume_point: str = ""
    # The last recovery point committed (kept in the row with the response).
    recovery_point: str = ""
    # The key's lock is held at session level (taken by the first checkpoint).
    session_locked: bool = False


_running: ContextVar[_Run | None] = ContextVar("paysys_idempotency_run", default=None)


def _write(connection: BaseDatabaseWrapper, run: _Run, *, response: HttpResponseBase | None = None) -> bool:
    """The key's row: the recovery point (step 3), with the response (step 4) once there is
    one; False if a response is stored already (another request's, step 1's arbiter)."""
    return persistence.idempotency_key_write(
        connection,
        merchant=run.merchant,
        livemode=run.livemode,
        key=run.key,
        fingerprint=run.fingerprint,
        method=run.method.upper()[:8],
        path=run.path[:500],
        recovery_point=run.recovery_point,
        response_status=None if response is None else response.status_code,
        response_body=None if response is None else crypto.encrypt(response.content),
        response_content_type="" if response is None else response.get("Content-Type", "")[:100],
    )


def _session_lock(connection: BaseDatabaseWrapper, run: _Run, *, take: bool) -> None:
    persistence.idempotency_key_session_lock(
        connection, merchant=run.merchant, livemode=run.livemode, key=run.key, take=take
    )
    run.session_locked = take


def _session_release(connection: BaseDatabaseWrapper, run: _Run) -> None:
    try:
        _session_lock(connection, run, take=False)
    except DatabaseError:
        # A connection that cannot release the lock is closed: its session, and the lock, end.
        connection.close()


def idempotency_resume_point() -> str:
    """Where a previous attempt of the running keyed request left off (step 3); "" otherwise."""
    run = _running.get()
    return run.resume_point if run is not None else ""


def idempotency_checkpoint(*, recovery_point: str) -> None:
    """Step 3: commit the running keyed request's work so far, with the point a retry resumes at.

    Called right before an outside call whose effect no rollback can undo, outside any atomic
    block. Without a key, or inside a caller's transaction, it does nothing.
    """
    run = _running.get()
    if run is None or not run.manual:
        return
    connection = transaction.get_connection()
    if not run.session_locked:
        _session_lock(connection, run, take=True)
    run.recovery_point = recovery_point
    if not _write(connection, run):
        raise _in_use()
    connection.commit()
    # The committed phase's on_commit hooks run now, in autocommit, as after any commit.
    connection.set_autocommit(True)
    connection.set_autocommit(False)


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
    run = _Run(
        merchant=merchant,
        livemode=livemode,
        key=key,
        fingerprint=fingerprint,
        method=method,
        path=path,
        manual=manual,
    )
    if manual:
        connection.set_autocommit(False)
    committed = False
    token = None
    try:
        locked, stored = persistence.idempotency_key_begin(
            connection, merchant=merchant, livemode=livemode, key=key
        )
        if stored is not None and stored.fingerprint != fingerprint:
            raise _mismatch()
        if stored is not None and stored.response_status is not None:
            return _replay(stored)
        if not locked:
            raise _in_use()
        run.resume_point = run.recovery_point = stored.recovery_point if stored is not None else ""
        token = _running.set(run)
        response = execute()
        if response.status_code >= 500 or getattr(response, "streaming", False):
            return response
        if manual and connection.needs_rollback:
            # The database refused the run (a statement raised with no savepoint around it):
            # nothing since the last commit can commit. Roll it back and store the error response.
            connection.rollback()
        if not _write(connection, run, response=response):
            raise _in_use()
        if manual:
            connection.commit()
        committed = True
        return response
    finally:
        if token is not None:
            _running.reset(token)
        if manual:
            if not committed:
                connection.rollback()
            # Turning autocommit back on runs the on_commit hooks of a committed run.
            connection.set_autocommit(True)
            if run.session_locked:
                _session_release(connection, run)


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
