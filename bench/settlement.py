"""The settlement run against its floor (not a test: it prints figures).

For each size (100,000 and 1,000,000 captured card payments by default, over 1,000 merchants):

- a fresh database is filled: the merchants through ``merchant_onboard`` and
  ``merchant_activate``, a few payments through ``payment_create`` (the reference), then the
  payments, their capture transactions and ledger entries in set-based SQL
  (``bench/settlement_seed.sql``), the balance shards brought to the entries' sums; the seeded
  rows are checked against the reference ones (same columns, fee rule, entries per account
  kind, ``balance_after``) before anything is timed. What a capture also writes and settlement
  never reads (events, audit rows, history rows, processor operations) is not seeded;
- the floor, over a copy of the same rows (``floor_*`` tables, same indexes): the day as three
  plain statements, timed together (aggregate the pending entries into per-merchant totals;
  ``INSERT ... SELECT`` one line per payment; ``UPDATE`` marking the payments settled), and the
  bare ``GROUP BY`` of the entries per account alone;
- ``settlement_run`` for the next day, in a process of its own (``--settle``): its wall time
  and its peak RSS (``ru_maxrss``);
- after the run, with every entry settled: the time of the statement that lists what to settle
  (``settlements/sql/candidates.sql``), which then finds nothing: what settled history costs it.

It prints the figures and the targets: 1M settle in <= 60 s with peak RSS <= 256 MB, <= 2x the
floor, and 10x the payments in <= 11x the time. ``--json`` prints one JSON object instead. It
creates (and drops) its own databases, ``--database`` (default ``paysys_bench_settlement``) and
the same name with ``_tpl``; the server comes from ``BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432``). Payouts' sending tasks go to Celery's in-memory broker.

    .venv/bin/python bench/settlement.py [--sizes 100000 1000000] [--merchants 1000]
        [--database NAME] [--json]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from ledger import _pg_args, _recreate_database, _server

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
DATABASE = "paysys_bench_settlement"
SEED_SQL = BENCH_DIR / "settlement_seed.sql"
FLOOR_SQL = BENCH_DIR / "settlement_floor.sql"
SIZES = (100_000, 1_000_000)
MERCHANTS = 1000
FEE_BASIS_POINTS = 290
# Payments made by payment_create, whose rows the seeded ones are checked against.
REFERENCE_AMOUNTS = (Decimal("12.34"), Decimal("100.00"), Decimal("0.99"))
TARGET_SECONDS_1M = 60
TARGET_RSS_MB = 256
TARGET_VS_FLOOR = 2.0
TARGET_GROWTH_10X = 11.0


def _django_setup(database: str) -> None:
    os.environ["DATABASE_URL"] = f"{_server()}/{database}"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paysys.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _use(database: str) -> None:
    """Point Django's connection at ``database`` (set up once, on the template)."""
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = database


def _template(database: str) -> str:
    """The database the merchants are made in once, copied for each size."""
    return f"{database}_tpl"


def _psql(database: str, sql: str) -> None:
    done = subprocess.run(
        ["psql", *_pg_args(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database],
        input=sql,
        text=True,
        capture_output=True,
    )
    if done.returncode:
        raise RuntimeError(f"psql failed: {done.stderr}")


def template_prepare(merchants: int, template: str) -> None:
    """The merchants and the reference payments, made by the services, in the template database."""
    _recreate_database(template)
    from django.core.management import call_command
    from moneyed import Money

    from merchants.services import merchant_activate, merchant_onboard
    from payments.services import payment_create

    call_command("migrate", verbosity=0)
    made = []
    for number in range(merchants):
        merchant = merchant_onboard(
            name=f"Bench shop {number}",
            email=f"shop{number}@example.com",
            default_currency="EUR",
            fee_basis_points=FEE_BASIS_POINTS,
        )
        made.append(merchant_activate(merchant_id=merchant.public_id))
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    for merchant, amount in zip(made, REFERENCE_AMOUNTS, strict=False):
        payment = payment_create(merchant=merchant, amount=Money(amount, "EUR"), card=card)
        if payment.status != "succeeded":
            raise RuntimeError(f"the reference payment did not succeed: {payment.failure_code}")
    _use(template)  # closes the connection: the template is copied next


def seed(payments: int, database: str) -> float:
    """Copy the template, seed ``payments`` captured payments (less the reference ones); seconds."""
    subprocess.run(
        ["dropdb", *_pg_args(), "--if-exists", "--force", database], check=True, capture_output=True
    )
    subprocess.run(
        ["createdb", *_pg_args(), "-T", _template(database), database], check=True, capture_output=True
    )
    started = time.monotonic()
    sql = SEED_SQL.read_text().replace(":payments", str(payments - len(REFERENCE_AMOUNTS)))
    _psql(database, sql)
    elapsed = time.monotonic() - started
    _psql(database, "VACUUM ANALYZE;")
    return elapsed


def seed_check() -> None:
    """The seeded rows have the shape of the rows ``payment_create`` wrote, and the ledger holds."""
    from django.db import connection

    from accounts.services import ledger_verify

    checks = {
        # Per kind of transaction: the metadata's keys, the reference's prefix, and the
        # entries' account kinds and signs, for the service's payments and the seeded ones.
        "shape": """
            SELECT DISTINCT t.id <= 3 AS reference, t.kind, split_part(t.reference, ':', 1),
                   (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(t.metadata) k),
                   (SELECT array_agg(a.kind || sign(e.amount)::int ORDER BY a.kind)
                      FROM accounts_entry e JOIN accounts_ledgeraccount a ON a.id = e.account_id
                     WHERE e.transaction_id = t.id),
                   length(t.public_id), length(p.public_id), p.status, p.payment_method_id IS NULL
              FROM accounts_journaltransaction t
              JOIN payments_payment p ON p.public_id = t.metadata ->> 'payment'
             WHERE t.id <= 3 OR t.id % 997 = 0
        """,
        # The fee rule: the seed's fee for the reference amounts is the service's fee.
        "fee": """
            SELECT count(*) FROM payments_payment p
             WHERE p.id <= 3 AND p.fee <> round(p.amount * 290 / 10000 + 0.25, 2)
        """,
    }
    with connection.cursor() as cursor:
        cursor.execute(checks["shape"])
        shapes = {tuple(map(str, row[1:])) for row in cursor.fetchall()}
        if len(shapes) != 1:
            raise RuntimeError(f"seeded rows differ from the service's: {shapes}")
        cursor.execute(checks["fee"])
        if cursor.fetchone()[0]:
            raise RuntimeError("the seed's fee rule differs from the service's")
    result = ledger_verify()
    if not result.ok:
        raise RuntimeError(f"the seeded ledger does not verify: {result.failures[:5]}")


def floor(run_date: date) -> dict[str, float]:
    """The three plain statements over a copy of the rows, and the bare GROUP BY; seconds."""
    from django.db import connection, transaction

    from settlements.services import settlement_period_end

    copy, statements, group_by = FLOOR_SQL.read_text().split("-- @@\n")
    period_end = {"period_end": settlement_period_end(day=run_date, delay_days=1)}
    with connection.cursor() as cursor:
        for statement in copy.split(";\n"):
            cursor.execute(statement)
        cursor.execute("VACUUM ANALYZE")
        started = time.monotonic()
        with transaction.atomic():
            for statement in statements.split("-- ;\n"):
                cursor.execute(statement, period_end)
        three = time.monotonic() - started
        started = time.monotonic()
        cursor.execute(group_by)
        cursor.fetchall()
        bare = time.monotonic() - started
    return {"floor_seconds": three, "floor_group_by_seconds": bare}


def settle_in_child(run_date: date, database: str) -> dict:
    """``settlement_run`` in a process of its own: its wall time, peak RSS and result."""
    out = subprocess.run(
        [sys.executable, __file__, "--database", database, "--settle", run_date.isoformat()],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def settle(run_date: date, database: str) -> None:
    """The child: settle, then print one JSON line."""
    _django_setup(database)
    from settlements.services import settlement_run

    started = merchants_done = time.monotonic()

    def progress(done: int, total: int) -> None:
        nonlocal merchants_done
        merchants_done = time.monotonic()

    result = settlement_run(date=run_date, on_progress=progress)
    elapsed = time.monotonic() - started
    print(
        json.dumps(
            {
                "settle_seconds": elapsed,
                # Up to the last merchant's commit; the rest is reconciliation and the batch's end.
                "merchants_seconds": merchants_done - started,
                "settle_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "settled": result.settled,
                "lines": result.lines,
                "failed": result.failed,
                "breaks": result.breaks,
            }
        )
    )


def candidates_after(run_date: date) -> float:
    """Seconds of the statement listing what to settle, once everything is settled."""
    from django.db import connection

    from settlements.models import SettlementBatch
    from settlements.persistence import candidates_list
    from settlements.services import settlement_period_end

    batch = SettlementBatch.objects.get(date=run_date)
    connection.close()  # a fresh session, as a run's
    started = time.monotonic()
    found = candidates_list(
        batch_pk=batch.pk + 1,  # no settlement in it: every account is looked at
        day=run_date,
        midnight=settlement_period_end(day=run_date, delay_days=1),
        merchant_pk=None,
    )
    elapsed = time.monotonic() - started
    if found:
        raise RuntimeError(f"{len(found)} accounts still have something to settle after the run")
    return elapsed


def size_figures(payments: int, run_date: date, database: str) -> dict:
    figures: dict = {"seed_seconds": seed(payments, database)}
    from django.db import connections

    _use(database)
    seed_check()
    figures.update(floor(run_date))
    connections.close_all()
    figures.update(settle_in_child(run_date, database))
    if figures["lines"] != payments or figures["failed"] or figures["breaks"]:
        raise RuntimeError(f"the run did not settle every payment cleanly: {figures}")
    figures["candidates_after_seconds"] = candidates_after(run_date)
    figures["ratio_vs_floor"] = round(figures["settle_seconds"] / figures["floor_seconds"], 2)
    connections.close_all()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="payments per run")
    parser.add_argument("--merchants", type=int, default=MERCHANTS)
    parser.add_argument(
        "--database", default=DATABASE, help="the database to create (and drop), and NAME_tpl"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    parser.add_argument("--settle", help=argparse.SUPPRESS)  # the child's run date
    args = parser.parse_args()
    if args.settle:
        settle(date.fromisoformat(args.settle), args.database)
        return

    from datetime import UTC, datetime

    run_date = datetime.now(UTC).date() + timedelta(days=1)
    template = _template(args.database)
    _django_setup(template)
    template_prepare(args.merchants, template)
    figures: dict = {"merchants": args.merchants, "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    for payments in sorted(args.sizes):
        figures[str(payments)] = size_figures(payments, run_date, args.database)
    for name in (args.database, template):
        subprocess.run(
            ["dropdb", *_pg_args(), "--if-exists", "--force", name], check=True, capture_output=True
        )
    sizes = sorted(args.sizes)
    if len(sizes) > 1:
        small, large = figures[str(sizes[0])], figures[str(sizes[-1])]
        figures["growth_time"] = round(large["settle_seconds"] / small["settle_seconds"], 2)
        figures["growth_payments"] = sizes[-1] / sizes[0]

    if args.json:
        print(json.dumps(figures, sort_keys=True))
        return
    print(f"{args.merchants} merchants, {os.cpu_count()} cpus, load average {figures['load_average']}")
    print(
        f"{'payments':>10}{'settle s':>10}{'merchants s':>13}{'RSS MB':>9}{'floor s':>9}"
        f"{'GROUP BY s':>12}{'x floor':>9}"
        f"{'cands after s':>15}{'seed s':>8}"
    )
    for payments in sizes:
        f = figures[str(payments)]
        print(
            f"{payments:>10}{f['settle_seconds']:>10.1f}{f['merchants_seconds']:>13.1f}{f['settle_peak_rss_mb']:>9.0f}{f['floor_seconds']:>9.1f}"
            f"{f['floor_group_by_seconds']:>12.2f}{f['ratio_vs_floor']:>9.2f}"
            f"{f['candidates_after_seconds']:>15.2f}{f['seed_seconds']:>8.1f}"
        )
    print(
        f"targets: 1M in <= {TARGET_SECONDS_1M} s with peak RSS <= {TARGET_RSS_MB} MB;"
        f" <= {TARGET_VS_FLOOR}x the floor; 10x the payments in <= {TARGET_GROWTH_10X}x the time"
    )
    if "growth_time" in figures:
        print(f"{figures['growth_payments']:.0f}x the payments took {figures['growth_time']:.2f}x the time")


if __name__ == "__main__":
    main()
