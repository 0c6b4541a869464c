"""The unit of work of a ledger write and its retry.

``ledger_atomic`` marks a function as the owner of its unit of work when nothing is open yet:

- called with no transaction open (autocommit: a task, a command, a script, a request without
  an Idempotency-Key), it runs ``fn`` in ``atomic(durable=True)`` and runs the whole block again
  on a deadlock (40P01) or serialization failure (40001), ``settings.LEDGER_POST_MAX_RETRIES``
  times with full-jitter exponential backoff; past that the caller gets ``LedgerBusyError`` and
  nothing was written;
- called inside a caller's atomic block (a payment's step posting its capture, a test), it nests
  in a savepoint: the caller owns the transaction and its retry, and a refusal raised by the
  database (which aborts the statement) leaves the caller's transaction usable;
- called in a manual transaction (``paysys.idempotency`` runs a keyed request with autocommit
  off and no atomic block), it joins without a savepoint; a deadlock there cannot be retried
  (the request's earlier writes went with it), so it becomes ``LedgerBusyError`` and the
  idempotency run rolls back and stores nothing for the key (a 503): the client retries.

The entry points other apps and adapters call (``ledger_post``, transfers, holds, account
status) are wrapped, and so are the steps of payments' use cases that post (docs/decisions.md,
"Who owns a ledger write's transaction").
"""

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from accounts.errors import LedgerBusyError
from accounts.ledger_sql import is_retryable

P = ParamSpec("P")
R = TypeVar("R")

RETRY_BASE_DELAY_SECONDS = 0.002
RETRY_MAX_DELAY_SECONDS = 0.2


def ledger_retry(run: Callable[[], R]) -> R:
    """Run ``run`` (a whole unit: an atomic block, or one autocommitted statement) again on
    deadlock/serialization failures, with jittered backoff; ``LedgerBusyError`` past the limit."""
    max_retries = settings.LEDGER_POST_MAX_RETRIES
    for attempt in range(max_retries + 1):
        try:
            return run()
        except DatabaseError as exc:
            if not is_retryable(exc):
                raise
            if attempt == max_retries:
                raise LedgerBusyError(
                    "The ledger is busy: the posting was retried and still conflicted; nothing was posted."
                ) from exc
            # Full jitter: conflicting writers spread out instead of colliding again.
            time.sleep(random.uniform(0, min(RETRY_MAX_DELAY_SECONDS, RETRY_BASE_DELAY_SECONDS * 2**attempt)))
    raise AssertionError("unreachable")  # pragma: no cover


def ledger_unit(run: Callable[[], R]) -> R:
    """Run ``run`` as a unit of work: see the module docstring."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return run()
    if not connection.get_autocommit():
        try:
            with transaction.atomic(savepoint=False):
                return run()
        except DatabaseError as exc:
            if is_retryable(exc):
                raise LedgerBusyError("The ledger is busy: nothing was posted; retry.") from exc
            raise

    def owned() -> R:
        with transaction.atomic(durable=True):
            return run()

    return ledger_retry(owned)


def ledger_atomic(fn: Callable[P, R]) -> Callable[P, R]:
    """Make ``fn`` a ledger entry point (``ledger_unit`` around each call)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return ledger_unit(lambda: fn(*args, **kwargs))

    return wrapper
