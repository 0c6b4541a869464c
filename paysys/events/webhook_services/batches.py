"""Many attempts per Celery message: a message's delivery ids, then (draining) whatever is due,
on this process's pool of delivery threads.

Fairness: at most ``PAYSYS_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT`` requests per endpoint at once
(the attempt's slots); a delivery that finds every slot taken is put back a moment later without
counting an attempt, and the run leaves that endpoint alone, so a slow receiver holds only its own
slots and never every worker of the ``webhooks`` queue.
"""

import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

from paysys.events.webhook_services.attempts import ClaimedAttemptError, deliver_next_due, webhook_deliver
from paysys.events.webhook_services.dispatch import publish
from paysys.events.webhook_services.policy import (
    RESULT_ENDPOINT_BUSY,
    RESULT_ERROR,
    WEBHOOK_DRAIN_SECONDS,
    delivery_threads,
)

logger = logging.getLogger(__name__)


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
    run = _DeliveryRun(ids=ids, drain=drain, threads=delivery_threads())
    run.run()
    if run.cut_short:
        publish([])  # a message with no ids: drain again
    return dict(run.counts)


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
                    taken = deliver_next_due(skip_endpoints=self._skipped())
                except ClaimedAttemptError as exc:
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


class _DeliveryPool:
    """This process's delivery threads, made on first use (after a prefork worker has forked)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executor: ThreadPoolExecutor | None = None

    def get(self) -> ThreadPoolExecutor:
        with self.lock:
            if self.executor is None:
                self.executor = ThreadPoolExecutor(
                    max_workers=max(1, delivery_threads()), thread_name_prefix="webhook-delivery"
                )
            return self.executor

    def forget(self) -> None:
        # A forked child has none of its parent's threads (and maybe a lock some thread held).
        self.lock = threading.Lock()
        self.executor = None


_delivery_pool_state = _DeliveryPool()
_delivery_pool = _delivery_pool_state.get
os.register_at_fork(after_in_child=_delivery_pool_state.forget)
