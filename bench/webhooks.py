"""Webhook delivery throughput and lag (not a test: it prints figures).

One run, on the local PostgreSQL and Redis, with one real Celery worker (prefork pool by default,
``BENCH_POOL=threads`` to compare; prefetch 1, ``acks_late``; the same command line for every
phase):

1. **No-op rate**: ``--tasks`` no-op Celery tasks queued up front, then a worker starts; tasks/s
   from the worker being ready to the queue being drained.
2. **Delivery rate**: as many pending deliveries to one local HTTP receiver, their messages
   queued up front by the production dispatcher (as the sweeper queues a backlog), then a worker
   with the same settings starts; deliveries/s from ready until the receiver has them all.
   Target: >= 0.5 x the no-op rate.
3. **Lag**: events emitted at a steady ``--rate`` (200/s) for ``--seconds`` (60) through the
   outbox (``event_emit`` in its own transaction, so the after-commit fan-out runs as in
   production); lag = the receiver's arrival time - the event's ``created``. An event that has
   not arrived when the measurement ends (``LAG_GRACE_SECONDS`` after the last was emitted) counts
   with the lag it had by then, a lower bound, and the number missing is printed. Prints p50 and
   p99. Target: p99 <= 5 s.

It creates (and drops first) the database ``paysys_bench_webhooks`` on ``BENCH_DATABASE_URL``'s
server (default ``postgres://postgres@127.0.0.1:5432``); the broker is ``REDIS_URL`` (default
``redis://127.0.0.1:6379/0``) with queue names unique to the run. Every process runs with
``DEBUG=false``, as production does. ``--json`` prints one JSON object with every figure.

    .venv/bin/python bench/webhooks.py [--seconds 60] [--rate 200] [--tasks 3000] [--concurrency CORES] [--json]

The worker imports this file (``--include``) for its no-op task, so the module's top level
only defines that task.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from celery import shared_task

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "paysys_bench_webhooks"
MERCHANT = "mer_benchwebhooks0000000"
TARGET_DELIVERY_VS_NOOP = 0.5
TARGET_LAG_P99_SECONDS = 5.0
WORKER_READY_TIMEOUT = 60.0
DRAIN_TIMEOUT = 300.0
LAG_GRACE_SECONDS = 60.0
NOOP_TASK = "bench.webhooks.noop"
# Processes use both cores (threads share one interpreter lock); set BENCH_POOL=threads to compare.
DEFAULT_POOL = "prefork"
EMITTERS = 4
EMIT_SLOWDOWN_ALLOWED = 10
# Spawned emitters set Django up before the schedule starts.
EMITTER_START_SECONDS = 5.0


@shared_task(name=NOOP_TASK, acks_late=True, ignore_result=True)
def noop() -> None:
    """Does nothing: the floor of what one Celery task costs with these worker settings."""


def _server() -> str:
    return os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def _pg_args() -> list[str]:
    url = urlsplit(_server())
    return ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]


def _setup(redis_url: str) -> None:
    subprocess.run(
        ["dropdb", *_pg_args(), "--if-exists", "--force", BENCH_DB], check=True, capture_output=True
    )
    subprocess.run(["createdb", *_pg_args(), BENCH_DB], check=True, capture_output=True)
    os.environ["DATABASE_URL"] = f"{_server()}/{BENCH_DB}"
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("PAYSYS_ENV", "test")
    os.environ["PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS"] = "true"
    os.environ["LOG_LEVEL"] = "WARNING"
    # As in production: with DEBUG on, Django keeps every query's SQL, which costs on the hot path.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paysys.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Worker:
    def __init__(self, *, queue: str, concurrency: int, log: Path) -> None:
        self.queue, self.concurrency, self.log = queue, concurrency, log
        self.pool = os.environ.get("BENCH_POOL", DEFAULT_POOL)
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        """Start; return the monotonic time at which it reported ready."""
        env = {
            **os.environ,
            "PAYSYS_WEBHOOK_QUEUE": self.queue,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
        }
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "paysys", "worker",
                    "--include", "webhooks",
                    "-Q", self.queue, "-P", self.pool, "-c", str(self.concurrency),
                    "-n", f"bench-{uuid.uuid4().hex[:6]}@%h",
                    "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "INFO",
                ],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + WORKER_READY_TIMEOUT
        while time.monotonic() < deadline:
            if b"ready." in self.log.read_bytes()[offset:]:
                return time.monotonic()
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("worker did not start:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def _redis():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _queue_drained(client, queue: str, unacked_before: int) -> bool:
    # kombu's Redis transport: the queue is a list; taken but unacknowledged messages sit in the
    # shared "unacked" hash (which may hold leftovers of killed workers: compare with before).
    return client.llen(queue) == 0 and client.hlen("unacked") <= unacked_before


def measure_noop(*, tasks: int, concurrency: int, log: Path) -> float:
    queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    client = _redis()
    unacked_before = client.hlen("unacked")
    for _ in range(tasks):
        noop.apply_async(queue=queue)
    worker = Worker(queue=queue, concurrency=concurrency, log=log)
    try:
        ready = worker.start()
        deadline = ready + DRAIN_TIMEOUT
        while not _queue_drained(client, queue, unacked_before) and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - ready
    finally:
        worker.stop()
        client.delete(queue)
    return tasks / elapsed


def _endpoints(receiver_url: str, count: int) -> list:
    """``count`` endpoints on the one receiver (one per merchant, as a PSP has many)."""
    from paysys.events.models import WebhookEndpoint
    from paysys.events.webhook_services import webhook_endpoint_create

    WebhookEndpoint.objects.all().update(status="disabled", disabled_reason="operator")
    return [
        webhook_endpoint_create(
            merchant_id=_merchant(i), url=f"{receiver_url}/{i}", enabled_events=["*"]
        ).endpoint
        for i in range(count)
    ]


def _merchant(i: int) -> str:
    return f"{MERCHANT}{i:03d}"


def measure_deliveries(*, count: int, concurrency: int, endpoints: int, log: Path, receiver) -> float:
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from paysys.events.models import Event, WebhookDelivery
    from paysys.events.services import event_committed
    from paysys.events.webhook_services.dispatch import dispatch

    queue = f"bench-deliver-{uuid.uuid4().hex[:8]}"
    settings.PAYSYS_WEBHOOK_QUEUE = queue
    targets = _endpoints(receiver.url, endpoints)
    # Events written without the after-commit fan-out, so every message is queued up front.
    from paysys.events.webhook_receivers import event_committed_fanout

    event_committed.disconnect(
        event_committed_fanout, sender=Event, dispatch_uid="paysys.events.webhook_fanout"
    )
    try:
        now = timezone.now()
        with transaction.atomic():
            events = Event.objects.bulk_create(
                [
                    Event(type="payment.succeeded", merchant_id=targets[i % endpoints].merchant_id,
                          object_type="payment",
                          data={"object": {"id": f"pay_{i}", "object": "payment", "amount": 1050}})
                    for i in range(count)
                ]
            )  # fmt: skip
            deliveries = WebhookDelivery.objects.bulk_create(
                [
                    WebhookDelivery(
                        event=e, endpoint=targets[i % endpoints], next_attempt_at=now, dispatched_at=now
                    )
                    for i, e in enumerate(events)
                ]
            )
        dispatch([d.pk for d in deliveries])
    finally:
        event_committed.connect(
            event_committed_fanout, sender=Event, dispatch_uid="paysys.events.webhook_fanout"
        )
    receiver.received.clear()
    worker = Worker(queue=queue, concurrency=concurrency, log=log)
    client = _redis()
    try:
        ready = worker.start()
        receiver.wait_for(count, timeout=DRAIN_TIMEOUT)
        elapsed = time.monotonic() - ready
    finally:
        worker.stop()
        client.delete(queue)
    return count / elapsed


def _emit_share(
    k: int, of: int, total: int, rate: float, started: float, endpoints: int, queue: str, results
) -> None:
    """Emit events k, k + of, k + 2 of, ... each at its own moment on the shared schedule."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()  # a spawned process: the parent's environment names the database and broker
    from django.conf import settings

    settings.PAYSYS_WEBHOOK_QUEUE = queue
    from django.db import connections, transaction

    from paysys.events.services import event_emit

    created = {}
    for i in range(k, total, of):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with transaction.atomic(durable=True):
            event = event_emit(
                event_type="payment.succeeded",
                merchant_id=_merchant(i % endpoints),
                object_type="payment",
                data={"object": {"id": f"pay_lag_{i}", "object": "payment", "amount": 1050}},
            )
        created[event.public_id] = event.created.timestamp()
    connections.close_all()
    results.put(created)


def measure_lag(
    *, rate: float, seconds: float, concurrency: int, endpoints: int, log: Path, receiver
) -> dict:
    from django.conf import settings

    queue = f"bench-lag-{uuid.uuid4().hex[:8]}"
    settings.PAYSYS_WEBHOOK_QUEUE = queue
    _endpoints(receiver.url, endpoints)
    receiver.received.clear()
    worker = Worker(queue=queue, concurrency=concurrency, log=log)
    client = _redis()
    created: dict[str, float] = {}
    try:
        worker.start()
        total = int(rate * seconds)
        started = time.monotonic() + EMITTER_START_SECONDS
        # Several emitting processes (one core of Python cannot write, fan out and publish 200
        # events/s on this machine); event i leaves at started + i / rate whatever the others do.
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        procs = [
            ctx.Process(
                target=_emit_share, args=(k, EMITTERS, total, rate, started, endpoints, queue, results)
            )
            for k in range(EMITTERS)
        ]
        for p in procs:
            p.start()
        try:
            # A loaded machine may fall behind the schedule: wait, and report the rate achieved.
            for _ in procs:
                created.update(results.get(timeout=seconds * EMIT_SLOWDOWN_ALLOWED + LAG_GRACE_SECONDS))
        finally:
            for p in procs:
                p.join(LAG_GRACE_SECONDS)
                if p.is_alive():
                    p.terminate()
        emit_seconds = time.monotonic() - started
        with contextlib.suppress(TimeoutError):  # counted as missing below
            receiver.wait_for(total, timeout=LAG_GRACE_SECONDS)
        ended = time.time()
    finally:
        worker.stop()
        client.delete(queue)
    first_arrival: dict[str, float] = {}
    for r in receiver.received:
        first_arrival.setdefault(r.headers["webhook-id"], r.wall)
    # An event that never arrived has lagged at least until the measurement ended: leaving it out
    # would make a worker that falls behind look faster than one that keeps up.
    lags = sorted(first_arrival.get(i, ended) - created[i] for i in created)
    missing = sum(1 for i in created if i not in first_arrival)
    quantiles = statistics.quantiles(lags, n=100, method="inclusive")
    return {
        "events": len(created),
        "delivered": len(created) - missing,
        "missing": missing,
        "achieved_rate": len(created) / emit_seconds,
        "lag_p50_s": quantiles[49],
        "lag_p99_s": quantiles[98],
        "lag_max_s": lags[-1],
        # With events missing, the quantiles they reach are lower bounds.
        "lag_is_lower_bound": missing > 0,
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of the steady-rate phase")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="events per second in the steady-rate phase"
    )
    parser.add_argument("--tasks", type=int, default=3000, help="tasks (and deliveries) in the rate phases")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="worker processes (every phase; default one per core: each runs its own delivery threads)",
    )
    parser.add_argument("--endpoints", type=int, default=8, help="endpoints (merchants) sharing the receiver")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    _setup(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    sys.path.insert(0, str(ROOT))
    from tests.webhooks.receiver import Receiver

    log = Path(os.environ.get("BENCH_LOG", "/tmp/paysys-bench-webhooks-worker.log"))  # noqa: S108
    log.write_bytes(b"")
    receiver = Receiver().start()
    try:
        noop_rate = measure_noop(tasks=args.tasks, concurrency=args.concurrency, log=log)
        delivery_rate = measure_deliveries(
            count=args.tasks,
            concurrency=args.concurrency,
            endpoints=args.endpoints,
            log=log,
            receiver=receiver,
        )
        lag = measure_lag(
            rate=args.rate,
            seconds=args.seconds,
            concurrency=args.concurrency,
            endpoints=args.endpoints,
            log=log,
            receiver=receiver,
        )
    finally:
        receiver.stop()
    figures = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores ({_cpu_model()}), "
        f"{platform.system()} {platform.release()}",
        # Other work on the machine shares its cores: the figures only mean something beside it.
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "worker": f"celery {os.environ.get('BENCH_POOL', DEFAULT_POOL)} pool, concurrency {args.concurrency}, "
        "prefetch 1, acks_late",
        "endpoints": args.endpoints,
        "noop_tasks_per_s": round(noop_rate, 1),
        "deliveries_per_s": round(delivery_rate, 1),
        "delivery_vs_noop": round(delivery_rate / noop_rate, 3),
        "target_delivery_vs_noop": TARGET_DELIVERY_VS_NOOP,
        "steady_rate_events_per_s": args.rate,
        "steady_seconds": args.seconds,
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in lag.items()},
        "target_lag_p99_s": TARGET_LAG_P99_SECONDS,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"machine: {figures['machine']} (load {figures['load_average_1m_at_end']}); {figures['worker']}")
    print(f"no-op tasks/s:            {figures['noop_tasks_per_s']}")
    print(f"webhook deliveries/s:     {figures['deliveries_per_s']}")
    print(f"delivery / no-op:         {figures['delivery_vs_noop']} (target >= {TARGET_DELIVERY_VS_NOOP})")
    print(
        f"steady {args.rate:g} events/s for {args.seconds:g} s: achieved {figures['achieved_rate']}/s, "
        f"{figures['delivered']}/{figures['events']} delivered, {figures['missing']} missing "
        f"{LAG_GRACE_SECONDS:g} s after the last was emitted"
    )
    bound = " (lower bounds: missing events count until the end)" if figures["lag_is_lower_bound"] else ""
    print(
        f"lag p50 {figures['lag_p50_s']} s, p99 {figures['lag_p99_s']} s, max {figures['lag_max_s']} s{bound} "
        f"(target p99 <= {TARGET_LAG_P99_SECONDS} s)"
    )


if __name__ == "__main__":
    main()
