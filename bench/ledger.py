"""Ledger throughput against PostgreSQL's own yardstick (not a test: it prints figures).

One run measures, on the local PostgreSQL:

- pgbench TPC-B-like at scale 10 with 1, 2 and 8 clients, and at scale 1 with 8 clients (every
  transaction then updates one of a single branch row: pgbench's hot row);
- ``accounts.services.transfer_create`` from 1, 2 and 8 worker processes (each with its own
  connection), uncontended (random pairs among 1,000 wallets) and hot (every transfer credits
  the same account); and, for comparison, hot at 8 workers on an account with a single balance
  shard, which is what a plain row lock on the hot balance would give; and ``ledger_post`` alone
  (no transfer row, history, event or webhook fan-out) at 8 workers.

It prints transfers per second and the ratios the design aims at: uncontended / pgbench at 8
clients (target >= 0.6) and hot / uncontended at 8 workers (target >= 0.8). ``--json`` prints
one JSON object with every figure instead. It creates (and drops first) its own databases,
``paysys_bench_ledger`` and ``pgbench_bench_ledger``; the server comes from ``BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432``).

    .venv/bin/python bench/ledger.py [--seconds 10] [--json]
"""

import argparse
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LEDGER_DB = "paysys_bench_ledger"
PGBENCH_DB = "pgbench_bench_ledger"
CLIENTS = (1, 2, 8)
PGBENCH_SCALE = 10
PGBENCH_HOT_SCALE = 1
WALLETS = 1000
MERCHANT = "mer_benchmark00000000000001"
OPENING_BALANCE = Decimal("1000000")
# Each transfer moves 0.01..10.00: no wallet runs dry within a run.
MAX_TRANSFER_CENTS = 1000
TARGET_UNCONTENDED_VS_PGBENCH = 0.6
TARGET_HOT_VS_UNCONTENDED = 0.8


def _server() -> str:
    return os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def _pg_args() -> list[str]:
    url = urlsplit(_server())
    return ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]


def _recreate_database(name: str) -> None:
    subprocess.run(["dropdb", *_pg_args(), "--if-exists", "--force", name], check=True, capture_output=True)
    subprocess.run(["createdb", *_pg_args(), name], check=True, capture_output=True)


def _pgbench_tps(*, clients: int, seconds: int) -> float:
    out = subprocess.run(
        [
            "pgbench",
            *_pg_args(),
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            PGBENCH_DB,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    if match is None:
        raise RuntimeError(f"no tps in pgbench output:\n{out}")
    return float(match.group(1))


def _pgbench_init(scale: int) -> None:
    _recreate_database(PGBENCH_DB)
    subprocess.run(
        ["pgbench", *_pg_args(), "-i", "-q", "-s", str(scale), PGBENCH_DB], check=True, capture_output=True
    )


def pgbench_figures(seconds: int) -> dict[str, float]:
    figures = {}
    _pgbench_init(PGBENCH_SCALE)
    for clients in CLIENTS:
        figures[f"pgbench_scale{PGBENCH_SCALE}_c{clients}"] = _pgbench_tps(clients=clients, seconds=seconds)
    _pgbench_init(PGBENCH_HOT_SCALE)
    figures[f"pgbench_scale{PGBENCH_HOT_SCALE}_c8"] = _pgbench_tps(clients=8, seconds=seconds)
    subprocess.run(["dropdb", *_pg_args(), "--if-exists", PGBENCH_DB], check=True, capture_output=True)
    return figures


def _django_setup() -> None:
    os.environ["DATABASE_URL"] = f"{_server()}/{LEDGER_DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paysys.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ledger_prepare() -> tuple[list[int], int, int]:
    """Migrate a fresh database; open and fund the wallets and the hot account."""
    _recreate_database(LEDGER_DB)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from moneyed import Money

    from accounts.models import AccountKind, OwnerType
    from accounts.services import PostingLine, account_open, ledger_post, platform_account_get

    funding = platform_account_get(kind=AccountKind.WALLET_FUNDING, currency="EUR")
    wallets = []
    for _ in range(WALLETS):
        wallet = account_open(
            owner_type=OwnerType.CUSTOMER, merchant_id=MERCHANT, kind=AccountKind.WALLET, currency="EUR"
        )
        ledger_post(
            reference=f"open:{wallet.public_id}",
            kind="funding",
            lines=[
                PostingLine(funding.pk, Money(-OPENING_BALANCE, "EUR")),
                PostingLine(wallet.pk, Money(OPENING_BALANCE, "EUR")),
            ],
        )
        wallets.append(wallet.pk)
    hot = account_open(
        owner_type=OwnerType.CUSTOMER, merchant_id=MERCHANT, kind=AccountKind.WALLET, currency="EUR"
    )
    hot_one_shard = account_open(
        owner_type=OwnerType.CUSTOMER,
        merchant_id=MERCHANT,
        kind=AccountKind.WALLET,
        currency="EUR",
        balance_shards=1,
    )
    return wallets, hot.pk, hot_one_shard.pk


def _worker(mode, wallets, hot, seconds, barrier, results) -> None:
    from django.db import connections
    from moneyed import Money

    from accounts.services import PostingLine, ledger_post, transfer_create

    connections.close_all()  # never share the parent's connection after fork
    rng = random.Random()
    done = 0
    barrier.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if mode == "hot":
            source, destination = rng.choice(wallets), hot
        else:
            source, destination = rng.sample(wallets, 2)
        amount = Money(Decimal(rng.randint(1, MAX_TRANSFER_CENTS)) / 100, "EUR")
        if mode == "post":
            # The posting core alone: no transfer row, history, event or webhook fan-out.
            ledger_post(
                reference=f"bench:{rng.getrandbits(64):x}",
                kind="transfer",
                lines=[PostingLine(source, -amount), PostingLine(destination, amount)],
            )
        else:
            transfer_create(
                merchant_id=MERCHANT, from_account_id=source, to_account_id=destination, amount=amount
            )
        done += 1
    connections.close_all()
    results.put(done)


def ledger_tps(*, mode: str, workers: int, seconds: int, wallets: list[int], hot: int) -> float:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(mode, wallets, hot, seconds, barrier, results))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.monotonic()
    total = sum(results.get(timeout=seconds + 120) for _ in processes)
    elapsed = time.monotonic() - started
    for process in processes:
        process.join()
    return total / elapsed


def ledger_figures(seconds: int) -> dict[str, float]:
    _django_setup()
    wallets, hot, hot_one_shard = ledger_prepare()
    figures = {}
    # Worker counts outside, modes inside: the figures compared with each other are measured
    # back to back, so load from elsewhere on the machine skews them alike.
    for workers in CLIENTS:
        for mode in ("uncontended", "hot"):
            figures[f"ledger_{mode}_w{workers}"] = ledger_tps(
                mode=mode, workers=workers, seconds=seconds, wallets=wallets, hot=hot
            )
    figures["ledger_hot_one_shard_w8"] = ledger_tps(
        mode="hot", workers=8, seconds=seconds, wallets=wallets, hot=hot_one_shard
    )
    figures["ledger_post_only_uncontended_w8"] = ledger_tps(
        mode="post", workers=8, seconds=seconds, wallets=wallets, hot=hot
    )
    from accounts.services import ledger_verify

    figures["ledger_verified"] = ledger_verify().ok
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each measurement (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    args = parser.parse_args()

    figures: dict = {"seconds": args.seconds, "cpus": os.cpu_count()}
    figures.update(pgbench_figures(args.seconds))
    figures.update(ledger_figures(args.seconds))
    figures["ratio_uncontended_vs_pgbench_8"] = round(
        figures["ledger_uncontended_w8"] / figures[f"pgbench_scale{PGBENCH_SCALE}_c8"], 3
    )
    figures["ratio_hot_vs_uncontended_8"] = round(
        figures["ledger_hot_w8"] / figures["ledger_uncontended_w8"], 3
    )
    figures["ratio_hot_one_shard_vs_uncontended_8"] = round(
        figures["ledger_hot_one_shard_w8"] / figures["ledger_uncontended_w8"], 3
    )

    if args.json:
        print(json.dumps(figures, sort_keys=True))
        return
    print(f"{'measure':<34}{'1':>10}{'2':>10}{'8':>10}   (clients / workers)")
    print(
        f"{'pgbench TPC-B scale 10 (tps)':<34}"
        + "".join(f"{figures[f'pgbench_scale10_c{c}']:>10.0f}" for c in CLIENTS)
    )
    print(f"{'pgbench TPC-B scale 1 (tps)':<34}{'':>10}{'':>10}{figures['pgbench_scale1_c8']:>10.0f}")
    for mode in ("uncontended", "hot"):
        label = f"ledger transfers, {mode} (/s)"
        print(f"{label:<34}" + "".join(f"{figures[f'ledger_{mode}_w{c}']:>10.0f}" for c in CLIENTS))
    print(
        f"uncontended / pgbench at 8: {figures['ratio_uncontended_vs_pgbench_8']:.2f}"
        f" (target >= {TARGET_UNCONTENDED_VS_PGBENCH})"
    )
    print(
        f"hot / uncontended at 8:     {figures['ratio_hot_vs_uncontended_8']:.2f}"
        f" (target >= {TARGET_HOT_VS_UNCONTENDED})"
    )
    print(
        f"hot, one balance shard (a plain row lock) at 8: {figures['ledger_hot_one_shard_w8']:.0f}/s,"
        f" {figures['ratio_hot_one_shard_vs_uncontended_8']:.2f} of uncontended"
    )
    print(
        f"ledger_post alone (no transfer object), uncontended at 8: {figures['ledger_post_only_uncontended_w8']:.0f}/s"
    )
    print(f"ledger verified after the run: {figures['ledger_verified']}")


if __name__ == "__main__":
    main()
