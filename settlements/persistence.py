"""The settlements app's raw SQL: the run lock and the set-based statements of a run.

The statements live in ``settlements/sql/*.sql`` (read once per process); every value is a
bound parameter.
"""

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.db import connection

SQL_DIR = Path(__file__).with_name("sql")
# The key of the PostgreSQL advisory lock one settlement run holds (any date, any merchant).
RUN_LOCK_KEY = 0x5E771E


@functools.cache
def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def run_lock_try() -> bool:
    """Take the run lock for this database session, without waiting; whether it was taken."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK_KEY])
        return cursor.fetchone()[0]


def run_lock_release() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_KEY])


@dataclass(frozen=True)
class Candidate:
    """One merchant account (currency and mode) a run still has to settle, with the merchant's
    other accounts in that currency and mode (None if not open yet)."""

    merchant_pk: int
    merchant_id: str
    pending_account_pk: int
    currency: str
    livemode: bool
    period_end: datetime
    available_account_pk: int | None
    reserve_account_pk: int | None
    reserve_due: bool  # a reserve withheld earlier is due back on the run date


def candidates_list(
    *, batch_pk: int, day: date, midnight: datetime, merchant_pk: int | None
) -> list[Candidate]:
    with connection.cursor() as cursor:
        cursor.execute(
            _sql("candidates"),
            {"batch": batch_pk, "date": day, "midnight": midnight, "merchant": merchant_pk},
        )
        return [Candidate(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class LineTotals:
    count: int
    amount: Decimal
    fee: Decimal
    gross: Decimal


@dataclass(frozen=True)
class Claim:
    """The in-scope entries' totals per line type, and whether they were claimed (False: they sum
    below zero, a debt carried forward, and nothing was written)."""

    totals: dict[str, LineTotals]
    claimed: bool


def lines_claim(*, settlement_pk: int, account_pk: int, merchant_id: str, period_end: datetime) -> Claim:
    """Claim the account's unsettled entries before ``period_end`` as the settlement's lines and
    move its watermark, unless they sum below zero. The caller holds the account's locks."""
    with connection.cursor() as cursor:
        cursor.execute(
            _sql("lines_claim"),
            {
                "settlement": settlement_pk,
                "account": account_pk,
                "merchant": merchant_id,
                "period_end": period_end,
            },
        )
        rows = cursor.fetchall()
    return Claim(
        totals={row[0]: LineTotals(*row[1:5]) for row in rows},
        claimed=all(row[5] for row in rows),
    )


@dataclass(frozen=True)
class Difference:
    settlement_pk: int
    kind: str
    what: str
    expected: str
    found: str


def reconcile_differences(*, batch_pk: int) -> list[Difference]:
    """What differs between the batch's settlements, the ledger and the objects they name.

    The run has just written the batch's settlements and lines: statistics taken before know no
    row of this batch, and the planner, expecting a handful, probes the entries and payments
    one line at a time (a million index probes on a day of 1M payments). Fresh statistics first
    (a sample: tens of milliseconds) let it join them by hash."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE settlements_settlement, settlements_settlementline")
        cursor.execute(_sql("reconcile"), {"batch": batch_pk})
        return [Difference(*row) for row in cursor.fetchall()]
