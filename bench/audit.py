"""Audit-row throughput: striped hash chains against one global chain head (not a test).

Each worker process runs transactions that write one audit row and then hold the transaction
open for ``--hold-ms`` (a stand-in for the rest of a ledger posting), at 1 and 8 concurrent
processes, twice: with ``audit_record`` as it is (a free stripe, SKIP LOCKED) and with every
writer forced onto chain 0 (what a single global head would do). Prints rows/s and the ratios;
``--json`` prints one JSON object.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/paysys_bench python bench/audit.py

Writes audit rows into that database (they cannot be deleted: use a scratch database).
"""

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paysys.settings")

CLIENTS = (1, 8)
DEFAULT_SECONDS = 5.0
DEFAULT_HOLD_MS = 1.0


def _worker(
    mode: str, seconds: float, hold_ms: float, start: float, out: "multiprocessing.Queue[int]"
) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from paysys.audit import persistence, services

    if mode == "single":
        # Every row through the slow path, waiting for chain 0's head.
        head_lock = persistence.audit_head_lock
        services.audit_append_args = lambda event, *, start: None
        persistence.audit_head_lock = lambda *, start: head_lock(start=0)

    while time.time() < start:
        time.sleep(0.001)
    done, deadline = 0, start + seconds
    while time.time() < deadline:
        with transaction.atomic(durable=True):
            services.audit_record(event_type="bench.audit", object_type="bench", object_id=f"b{done}")
            if hold_ms:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(%s)", [hold_ms / 1000])
        done += 1
    connection.close()
    out.put(done)


def _run(mode: str, clients: int, seconds: float, hold_ms: float) -> float:
    out: multiprocessing.Queue[int] = multiprocessing.Queue()
    start = time.time() + 1.0
    procs = [
        multiprocessing.Process(target=_worker, args=(mode, seconds, hold_ms, start, out))
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    total = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    parser.add_argument("--hold-ms", type=float, default=DEFAULT_HOLD_MS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction

    from paysys.audit.services import audit_chain_heads_ensure

    with transaction.atomic():
        audit_chain_heads_ensure()
    connection.close()

    figures: dict[str, float] = {}
    for mode in ("striped", "single"):
        for clients in CLIENTS:
            figures[f"{mode}_{clients}"] = round(_run(mode, clients, args.seconds, args.hold_ms), 1)
    figures["striped_8_over_single_8"] = round(figures["striped_8"] / figures["single_8"], 2)
    figures["striped_8_over_striped_1"] = round(figures["striped_8"] / figures["striped_1"], 2)
    figures["hold_ms"] = args.hold_ms

    if args.json:
        print(json.dumps(figures))
        return
    for clients in CLIENTS:
        print(
            f"{clients} client(s): striped {figures[f'striped_{clients}']:>8} rows/s, "
            f"single head {figures[f'single_{clients}']:>8} rows/s"
        )
    print(f"striped/single at 8 clients: {figures['striped_8_over_single_8']}x")
    print(f"striped 8 clients / 1 client: {figures['striped_8_over_striped_1']}x")


if __name__ == "__main__":
    main()
