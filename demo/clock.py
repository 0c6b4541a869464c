"""The clock of the demo history: while it runs, ``django.utils.timezone.now()`` answers its time.

Every timestamp the services write comes from ``timezone.now()`` read at call time: the
services' own calls, the ``auto_now``/``auto_now_add`` fields, the ledger's postings and the
outbox events. Setting this clock to a past instant therefore makes a service write exactly what
it would have written then, with the ledger, settlements and payouts consistent with each other.
The audit log is not moved: it stamps rows with the wall clock (``paysys.audit.chain``), so it
records when the history was really written and its hash chains stay in order.

Only ``manage.py seed_demo`` runs it, in one thread, before any server starts; the real clock is
back when the ``with`` block ends, even on an error.
"""

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime

from django.utils import timezone


class DemoClock:
    """A settable instant; never ahead of the wall clock (the history is of the past)."""

    def __init__(self, wall_now: Callable[[], datetime]) -> None:
        self._wall_now = wall_now
        self._at: datetime = wall_now()

    def now(self) -> datetime:
        return self._at

    def set(self, when: datetime) -> None:
        self._at = min(when, self._wall_now())


@contextlib.contextmanager
def demo_clock() -> Iterator[DemoClock]:
    """Run the block with ``timezone.now()`` reading a ``DemoClock``; the real clock after it."""
    wall_now = timezone.now
    clock = DemoClock(wall_now)
    timezone.now = clock.now
    try:
        yield clock
    finally:
        timezone.now = wall_now
