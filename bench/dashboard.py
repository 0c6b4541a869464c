"""The operators' dashboard at a million payments (not a test: it prints figures).

A fresh database ``paysys_bench_dashboard`` is migrated and given 1,000 merchants (through
``merchant_onboard`` and ``merchant_activate``) and one payment through ``payment_create``
(its card is the seed's); then ``bench/dashboard_seed.sql`` writes, set-based, 1,000,000
payments over the 90 days before now with refunds, disputes, webhook deliveries, and a
settlement batch a day with every merchant's settlement and payout. The dashboard's daily
figures are then filled as an existing installation fills them, by the backfill
(``days_refresh`` over every day, timed), and the tables analysed.

Timed in one process, interleaved, after two warm-up requests: the page
(``GET /admin/dashboard/``, default span of 30 days, through Django's test client, logged in
as a superuser) and, as the same-run anchor, a bare ``SELECT count(*) FROM payments_payment``.
Medians of ``--runs`` (7) are printed beside the target (300 ms warm), and the page's
statement count. ``--json`` prints one JSON object instead. The server comes from
``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432``).

    .venv/bin/python bench/dashboard.py [--payments 1000000] [--merchants 1000] [--days 90] [--runs 7] [--json]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from ledger import _recreate_database, _server
from settlement import _psql

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "paysys_bench_dashboard"
SEED_SQL = Path(__file__).resolve().parent / "dashboard_seed.sql"
URL = "/admin/dashboard/"
TARGET_MS = 300
WARM_UP = 2


def _django_setup() -> None:
    os.environ["DATABASE_URL"] = f"{_server()}/{DATABASE}"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["PAYSYS_ENV"] = "test"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paysys.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(merchants: int) -> None:
    """Migrate; the merchants and the one payment whose card the seed reuses, by the services."""
    from django.core.management import call_command
    from moneyed import Money

    from merchants.services import merchant_activate, merchant_onboard
    from payments.services import payment_create

    call_command("migrate", verbosity=0)
    made = []
    for number in range(merchants):
        merchant = merchant_onboard(
            name=f"Bench shop {number}", email=f"shop{number}@example.com", default_currency="EUR"
        )
        made.append(merchant_activate(merchant_id=merchant.public_id))
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    payment_create(merchant=made[0], amount=Money("10.00", "EUR"), card=card)


def seed(*, payments: int, days: int) -> tuple[float, float]:
    """The seed's seconds, and the backfill's of the daily figures (every day)."""
    from django.db import connections, transaction

    from dashboard.services import all_days, days_refresh

    connections.close_all()
    started = time.monotonic()
    _psql(DATABASE, SEED_SQL.read_text().replace(":payments", str(payments)).replace(":days", str(days)))
    seeded = time.monotonic() - started
    started = time.monotonic()
    with transaction.atomic():
        days_refresh(span=all_days())
    backfilled = time.monotonic() - started
    connections.close_all()
    _psql(DATABASE, "VACUUM ANALYZE;")
    return seeded, backfilled


def measure(runs: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model().objects.create_superuser(
        "bench", "bench@example.com", "bench-password-not-secret"
    )
    client = Client()
    client.force_login(user)
    for _ in range(WARM_UP):
        assert client.get(URL).status_code == 200
    page, count = [], []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(URL)
        page.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute("SELECT count(*) FROM payments_payment")
            rows = cursor.fetchone()[0]
            count.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(URL)
    return {
        "payments": rows,
        "page_ms_median": round(statistics.median(page), 1),
        "page_ms_all": [round(ms, 1) for ms in page],
        "count_ms_median": round(statistics.median(count), 1),
        "count_ms_all": [round(ms, 1) for ms in count],
        "statements": len(queries),
        "page_bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--merchants", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    _recreate_database(DATABASE)
    _django_setup()
    prepare(args.merchants)
    seeded, backfilled = seed(payments=args.payments, days=args.days)
    result = {
        "merchants": args.merchants,
        "days": args.days,
        "seed_s": round(seeded, 1),
        "backfill_s": round(backfilled, 1),
        **measure(args.runs),
        "target_ms": TARGET_MS,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['payments']:,} payments, {args.merchants:,} merchants, {args.days} days")
    print(f"seed {result['seed_s']} s, backfill of the daily figures {result['backfill_s']} s")
    print(
        f"dashboard warm: median {result['page_ms_median']} ms over {args.runs} "
        f"({result['statements']} statements, {result['page_bytes']:,} bytes); target <= {TARGET_MS} ms"
    )
    print(f"anchor, same run: SELECT count(*) FROM payments_payment median {result['count_ms_median']} ms")


if __name__ == "__main__":
    main()
