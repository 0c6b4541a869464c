"""Ledger throughput against PostgreSQL's own yardstick (not a test: it prints figures).

One run measures, on the local PostgreSQL:

- pgbench TPC-B-like at scale 10 with 1, 2 and 8 clients, and at scale 1 with 8 clients (every
  transaction then updates one of a single branch row: pgbench's hot row);
- ``accounts.services.transfer_create`` from 1, 2 and 8 worker processes (each with its own
  connection), uncontended (random pairs among 1,000 wallets) and hot (every transfer credits
  the same account); and, for comparison, hot at 8 workers on an account with a single balance
  shard, which is what a plain row lock on the hot balance would give; and ``ledger_post`` alone
  (one call of the database function ``ledger_post``: no transfer row, history, event or
  webhook fan-out) at 8 workers;
- the statements one ``transfer_create`` sends (``bench/transfer_statements.sql``: on
  PostgreSQL the call of ``ledger_transfer_create`` and the webhook fan-out's read), sent by
  pgbench itself at 1 and 8 clients: the transfer with no Python, the most a client sending
  those statements could reach on this machine;
- where the server is local, PostgreSQL's own CPU time per transaction for TPC-B, the replayed
  transfer and ``transfer_create`` (``bench/postgres_cpu.py``).

The database is vacuumed and analyzed after it is filled, as ``pgbench -i`` does for its own.

It prints transfers per second and the ratios the design aims at: uncontended / pgbench at 8
clients (target >= 0.6) and hot / uncontended at 8 workers (target >= 0.8). ``--json`` prints
one JSON object with every figure instead. It creates (and drops first) its own databases,
``paysys_bench_ledger`` and ``pgbench_bench_ledger`` (``BENCH_LEDGER_DB=name`` names them ``name``
and ``pgbench_name`` instead, so two runs on one server do not drop each other's); the server
comes from ``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432``).

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
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from postgres_cpu import ceiling_per_second, per_operation_ms, postgres_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
LEDGER_DB = os.environ.get("BENCH_LEDGER_DB", "paysys_bench_ledger")
PGBENCH_DB = f"pgbench_{LEDGER_DB.removeprefix('paysys_')}"
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
TRANSFER_STATEMENTS = Path(__file__).resolve().parent / "transfer_statements.sql"
# The runs whose PostgreSQL CPU per transaction is printed, at 8 clients or workers.
CPU_MEASURED = {
    f"pgbench_scale{PGBENCH_SCALE}_c8": "TPC-B transaction",
    "replay_transfer_statements_c8": "replayed transfer",
    "ledger_uncontended_w8": "transfer_create",
}


@dataclass(frozen=True)
class PgbenchRun:
    tps: float
    # PostgreSQL's own CPU per transaction (None without a local server to read).
    postgres_cpu_ms: float | None


def _server() -> str:
    return os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def _pg_args() -> list[str]:
    url = urlsplit(_server())
    return ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]


def _recreate_database(name: str) -> None:
    subprocess.run(["dropdb", *_pg_args(), "--if-exists", "--force", name], check=True, capture_output=True)
    subprocess.run(["createdb", *_pg_args(), name], check=True, capture_output=True)


def _pgbench_run(
    *, clients: int, seconds: int, database: str = PGBENCH_DB, script: Path | None = None
) -> PgbenchRun:
    script_args = ["-n", "-f", str(script)] if script else []
    cpu_before = postgres_cpu_seconds()
    out = subprocess.run(
        [
            "pgbench",
            *_pg_args(),
            *script_args,
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            database,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cpu_after = postgres_cpu_seconds()
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if tps is None or processed is None or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench did not run cleanly:\n{out}")
    return PgbenchRun(
        tps=float(tps.group(1)),
        postgres_cpu_ms=per_operation_ms(cpu_before, cpu_after, int(processed.group(1))),
    )


def _pgbench_tps(*, clients: int, seconds: int) -> float:
    return _pgbench_run(clients=clients, seconds=seconds).tps


def _pgbench_init(scale: int) -> None:
    _recreate_database(PGBENCH_DB)
    subprocess.run(
        ["pgbench", *_pg_args(), "-i", "-q", "-s", str(scale), PGBENCH_DB], check=True, capture_output=True
    )


def pgbench_figures(seconds: int) -> dict[str, float]:
    figures = {}
    _pgbench_init(PGBENCH_SCALE)
    for clients in CLIENTS:
        run = _pgbench_run(clients=clients, seconds=seconds)
        figures[f"pgbench_scale{PGBENCH_SCALE}_c{clients}"] = run.tps
        if clients == 8:
            figures[f"pgbench_scale{PGBENCH_SCALE}_c8_postgres_cpu_ms"] = run.postgres_cpu_ms
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
    from django.db import connection

    with connection.cursor() as cursor:
        # Fresh statistics for the planner, as `pgbench -i` gives its own tables.
        cursor.execute("VACUUM ANALYZE")
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
    return ledger_run(mode=mode, workers=workers, seconds=seconds, wallets=wallets, hot=hot).tps


def ledger_run(*, mode: str, workers: int, seconds: int, wallets: list[int], hot: int) -> PgbenchRun:
    """Transfers (or bare postings) from ``workers`` processes: their rate, and what each cost
    PostgreSQL in CPU."""
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
    cpu_before = postgres_cpu_seconds()
    barrier.wait()
    started = time.monotonic()
    total = sum(results.get(timeout=seconds + 120) for _ in processes)
    elapsed = time.monotonic() - started
    for process in processes:
        process.join()
    return PgbenchRun(
        tps=total / elapsed, postgres_cpu_ms=per_operation_ms(cpu_before, postgres_cpu_seconds(), total)
    )


def replay_script(wallets: list[int]) -> str:
    """``transfer_statements.sql`` for these wallets."""
    if wallets != list(range(wallets[0], wallets[0] + len(wallets))):
        raise RuntimeError("the replay picks wallets by id: they must have consecutive ids")
    return Template(TRANSFER_STATEMENTS.read_text()).substitute(
        merchant=MERCHANT, first_wallet=wallets[0], wallets=len(wallets)
    )


def replay_figures(seconds: int, script: str) -> dict[str, float | None]:
    """pgbench sends a transfer's own statements (``transfer_statements.sql``) to the ledger
    database: the transfer without Python, at 1 and 8 clients."""
    figures: dict[str, float | None] = {}
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(script)
        file.flush()
        for clients in (1, 8):
            run = _pgbench_run(clients=clients, seconds=seconds, database=LEDGER_DB, script=Path(file.name))
            figures[f"replay_transfer_statements_c{clients}"] = run.tps
        figures["replay_transfer_statements_c8_postgres_cpu_ms"] = run.postgres_cpu_ms
    return figures


def ledger_figures(seconds: int) -> dict[str, float]:
    _django_setup()
    wallets, hot, hot_one_shard = ledger_prepare()
    replay = replay_script(wallets)
    figures = {}
    # Worker counts outside, modes inside: the figures compared with each other are measured
    # back to back, so load from elsewhere on the machine skews them alike.
    for workers in CLIENTS:
        for mode in ("uncontended", "hot"):
            run = ledger_run(mode=mode, workers=workers, seconds=seconds, wallets=wallets, hot=hot)
            figures[f"ledger_{mode}_w{workers}"] = run.tps
            if (mode, workers) == ("uncontended", 8):
                figures["ledger_uncontended_w8_postgres_cpu_ms"] = run.postgres_cpu_ms
    figures["ledger_hot_one_shard_w8"] = ledger_tps(
        mode="hot", workers=8, seconds=seconds, wallets=wallets, hot=hot_one_shard
    )
    figures["ledger_post_only_uncontended_w8"] = ledger_tps(
        mode="post", workers=8, seconds=seconds, wallets=wallets, hot=hot
    )
    from accounts.services import ledger_verify

    figures["ledger_verified"] = ledger_verify().ok
    figures.update(replay_figures(seconds, replay))
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
    figures["ratio_replay_vs_pgbench_8"] = round(
        figures["replay_transfer_statements_c8"] / figures[f"pgbench_scale{PGBENCH_SCALE}_c8"], 3
    )
    for name in CPU_MEASURED:
        figures[f"{name}_postgres_ceiling"] = ceiling_per_second(figures[f"{name}_postgres_cpu_ms"])

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
    print(
        "a transfer's own statements sent by pgbench (no Python), 1 / 8 clients:"
        f" {figures['replay_transfer_statements_c1']:.0f} / {figures['replay_transfer_statements_c8']:.0f} tps,"
        f" {figures['ratio_replay_vs_pgbench_8']:.2f} of TPC-B at 8"
    )
    for name, label in CPU_MEASURED.items():
        cpu_ms = figures[f"{name}_postgres_cpu_ms"]
        if cpu_ms is not None:
            ceiling = figures[f"{name}_postgres_ceiling"]
            print(
                f"PostgreSQL CPU per {label}: {cpu_ms:.2f} ms"
                f" (the server alone, on all {os.cpu_count()} cores: at most {ceiling:.0f}/s)"
            )


if __name__ == "__main__":
    main()
