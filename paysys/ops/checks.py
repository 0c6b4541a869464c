"""Dependency checks behind ``/readyz``: can this process reach what it needs to serve?

Each check gets a short timeout (``PAYSYS_READY_TIMEOUT_SECONDS``, default 1 s) so a
load balancer's probe answers quickly even when a dependency hangs, and returns a
``CheckResult`` instead of raising. A dependency that is not configured (no ``REDIS_URL`` in
the embedded mode) is reported as ``skipped``, which counts as ready: the process runs
without it by design.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import redis
from django.conf import settings
from django.db import connections, transaction
from kombu import Connection

DEFAULT_READY_TIMEOUT_SECONDS = 1.0

OK = "ok"
DOWN = "down"
SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str
    latency_ms: float
    error: str | None = None

    @property
    def ready(self) -> bool:
        return self.status != DOWN

    def as_dict(self) -> dict:
        body: dict = {"status": self.status, "latency_ms": round(self.latency_ms, 2)}
        if self.error:
            body["error"] = self.error
        return body


def _timeout() -> float:
    return float(getattr(settings, "PAYSYS_READY_TIMEOUT_SECONDS", DEFAULT_READY_TIMEOUT_SECONDS))


def _describe(exc: BaseException) -> str:
    # The class name and first line only: a driver's message may carry a host name but
    # never a password (URLs are not echoed), and a probe's body must stay small.
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line}"[:200]


def _timed(name: str, probe) -> CheckResult:
    started = time.perf_counter()
    try:
        status = probe()
    except Exception as exc:  # any failure means "down": the probe must answer
        return CheckResult(name, DOWN, (time.perf_counter() - started) * 1000, _describe(exc))
    return CheckResult(name, status or OK, (time.perf_counter() - started) * 1000)


def _database() -> str:
    connection = connections["default"]
    # A local setting ends with this transaction: the persistent connection keeps its own timeout
    # (set_config rather than SET, which takes no bound parameter).
    with transaction.atomic(using="default"), connection.cursor() as cursor:
        # A lock or a stuck server must not hold the probe past its budget.
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(int(_timeout() * 1000))])
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def _redis() -> str:
    url = settings.REDIS_URL
    if not url:
        return SKIPPED
    client = redis.Redis.from_url(url, socket_connect_timeout=_timeout(), socket_timeout=_timeout())
    try:
        client.ping()
    finally:
        client.close()
    return OK


def _broker() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        folder = Path(options.get("data_folder_in", ""))
        if not folder.is_dir():
            raise FileNotFoundError(f"broker folder {folder} is missing")
        return OK
    with Connection(url, connect_timeout=_timeout()) as conn:
        # No retries: the probe reports the state now; the load balancer asks again.
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=_timeout())
    return OK


CHECKS = {"database": _database, "redis": _redis, "broker": _broker}


def dependencies_check() -> list[CheckResult]:
    """Run every readiness check; never raises."""
    return [_timed(name, probe) for name, probe in CHECKS.items()]
