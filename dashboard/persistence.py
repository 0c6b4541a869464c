"""The dashboard's SQL: recomputing the daily figures of a span of days.

The statements live in ``dashboard/sql/*.sql`` (read once per process); every value is a bound
parameter. Each span is deleted and written again, so a refresh is exact whatever it replaces.
"""

import functools
from datetime import date
from pathlib import Path

from django.db import connection

SQL_DIR = Path(__file__).with_name("sql")
# The key of the transaction-level advisory lock a rewrite holds: two never interleave.
REWRITE_LOCK_KEY = 0xDA5B
_STATEMENTS = ("payment_days_clear", "payment_days", "delivery_days_clear", "delivery_days")


@functools.cache
def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def days_rewrite(*, first: date, last: date) -> None:
    """Replace the rows of ``first`` to ``last`` (both included) with figures computed now.

    The caller holds the transaction, so readers see the old rows or the new ones, never none.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REWRITE_LOCK_KEY])
        for name in _STATEMENTS:
            cursor.execute(_sql(name), {"first": first, "last": last})


def first_day() -> date | None:
    """The first day there is anything to count: the oldest payment's or delivery's (UTC)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT least((SELECT min(created) FROM payments_payment),"
            " (SELECT min(created) FROM events_webhookdelivery))"
        )
        (oldest,) = cursor.fetchone()
    return oldest.date() if oldest is not None else None
