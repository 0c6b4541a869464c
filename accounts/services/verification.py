"""``ledger_verify``: every ledger invariant checked with set-based SQL (``accounts.ledger_sql``)
on one consistent snapshot, plus the checks other apps registered (``accounts.checks``)."""

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from accounts import ledger_sql
from accounts.checks import ledger_checks
from accounts.models import LedgerVerification
from paysys.audit.services import audit_record

# Failing rows reported per check: enough to act on, bounded so a broken ledger stays readable.
VERIFY_MAX_ROWS_PER_CHECK = 100


@dataclass(frozen=True)
class LedgerVerificationResult:
    ok: bool
    summary: dict[str, Any]
    failures: list[dict[str, Any]]


def _rows_as_dicts(cursor, limit: int) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [
        {
            name: (str(value) if isinstance(value, Decimal) else value)
            for name, value in zip(names, row, strict=True)
        }
        for row in cursor.fetchmany(limit)
    ]


def ledger_verify(*, store: bool = False) -> LedgerVerificationResult:
    """Check every ledger invariant with set-based SQL on one consistent snapshot.

    The checks: each transaction sums to zero per currency; each account's stored balance
    (base + shards) equals the sum of its entries; each currency's balances sum to zero in each
    mode; no transaction mixes test and live accounts; no account without overdraft is below
    zero; ``pending`` equals the open holds; entries are in their account's currency. Then the
    checks other apps registered (``accounts.checks``: the processor reconciliation's unresolved
    breaks). With ``store`` the result is kept as a ``LedgerVerification`` row.
    """
    started = time.monotonic()
    checks = ledger_sql.VERIFY_CHECKS
    registered = ledger_checks()
    failures: list[dict[str, Any]] = []
    outermost = not connection.in_atomic_block
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        if outermost:
            # One snapshot for every check, while postings go on.
            cursor.execute(ledger_sql.VERIFY_SNAPSHOT_SQL)
        for name, sql in checks.items():
            if name == "summary":
                continue
            cursor.execute(sql)
            failures += [{"check": name, **row} for row in _rows_as_dicts(cursor, VERIFY_MAX_ROWS_PER_CHECK)]
        for name, check in registered.items():
            failures += [{"check": name, **row} for row in check()[:VERIFY_MAX_ROWS_PER_CHECK]]
        cursor.execute(checks["summary"])
        accounts, transactions, entries = cursor.fetchone()
    summary = {
        "checks": [name for name in checks if name != "summary"] + list(registered),
        "accounts": accounts,
        "transactions": transactions,
        "entries": entries,
        "failures": len(failures),
    }
    result = LedgerVerificationResult(ok=not failures, summary=summary, failures=failures)
    if store:
        with transaction.atomic(durable=True):
            LedgerVerification.objects.create(
                ok=result.ok,
                summary=summary,
                failures=failures,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            audit_record(
                event_type="ledger.verified",
                object_type="ledger",
                object_id="ledger",
                new_state="ok" if result.ok else "failed",
                metadata={"failures": len(failures)},
            )
    return result
