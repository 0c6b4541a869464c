"""API benchmark (not a test): what the HTTP stack costs, and what a transfer costs on top.

One run:

1. recreates its own PostgreSQL database (``--database-url``, default ``paysys_bench``),
   migrates it, and creates a merchant, a write key and ``--wallets`` funded wallets through
   the services (``merchants.services``, ``accounts.services``), never through raw SQL;
2. starts gunicorn exactly as the Docker image does (``paysys.ops.gunicorn_conf``) with a fixed
   number of sync workers (``--workers``), ``DEBUG`` off, JSON access logs on, and the Redis
   rate limiter in the path (with a budget too large to refuse anything);
3. drives it with wrk (a C load generator: on 2 cores a Python client would be the bottleneck)
   for each scenario: ``floor`` (``GET /v1/bench/noop``: middleware + DRF, no database, no
   auth), ``transfers`` (``POST /v1/transfers`` between random wallets, with a Bearer key and
   a fresh ``Idempotency-Key`` per request) and ``payments`` (``POST /v1/payments``, a test card
   with automatic capture, the same headers);
4. prints requests/s, p50 and p99 for each, each scenario's ratio to the floor, then transfers
   again at half their peak rate (wrk paces every connection) with that run's p50 and p99.

Targets: transfers >= 0.3 x floor; payments >= 0.2 x floor; transfers' p99 < 50 ms at half
their peak rate. Where PostgreSQL is local, each scenario also reports what a request cost the
database server in CPU (``bench/postgres_cpu.py``) and the rate that cost allows at most, what
it cost the gunicorn workers, and the CPU per request (on every core) that its target allows.

Needs wrk (``apt-get install wrk``), PostgreSQL and Redis. Run: ``make bench-api`` or
``.venv/bin/python bench/api.py [--json] [--duration 10] [--workers 4]``.

Adding a scenario: write a function that takes the
``BenchContext`` and returns a wrk Lua ``request()`` (see ``_transfers_lua``), register it in
``SCENARIOS``, and add its name to ``MEASURED``; objects it needs can be created in
``fixtures_create``. The report picks it up (``--scenario payments`` runs it alone with the floor).
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from postgres_cpu import ceiling_per_second, per_operation_ms, postgres_cpu_seconds, tree_cpu_seconds

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/paysys_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
DEFAULT_WORKERS = 4
DEFAULT_CONNECTIONS = 16
PACED_CONNECTIONS = 8
DEFAULT_DURATION_SECONDS = 10
WARMUP_SECONDS = 3
DEFAULT_WALLETS = 200
WALLET_FUNDING = "1000000.00"  # EUR per wallet: random 1.00 transfers never run one dry
TRANSFER_MINOR = 100
PAYMENT_MINOR = 1000
UNLIMITED_RATE = 10_000_000
# Each scenario's target, as a fraction of the floor's requests/s.
TARGET_RATIOS = {"transfers": 0.3, "payments": 0.2}
TARGET_P99_MS = 50.0
SERVER_START_TIMEOUT_SECONDS = 60


@dataclass
class BenchContext:
    base_url: str
    secret: str
    merchant_id: str
    wallets: list[str]
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    connections: int
    duration_s: int


def _lua_string_list(values: list[str]) -> str:
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


def _floor_lua(context: BenchContext) -> str:
    return 'wrk.method = "GET"\nwrk.path = "/v1/bench/noop"\n'


def _lua_prelude(context: BenchContext, *, seed: int) -> str:
    """What every authenticated scenario's script starts with: the key, the run id, a thread id
    per wrk thread and a request counter (together they make each Idempotency-Key unique)."""
    return f"""
local secret = {json.dumps(context.secret)}
local run_id = {json.dumps(context.run_id)}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
function init(args)
  math.randomseed(tid * {seed} + os.time())
end
"""


def _transfers_lua(context: BenchContext) -> str:
    # Each wrk thread numbers its requests; run id + wrk invocation + thread id + counter make
    # every Idempotency-Key unique, so no request is a replay.
    return (
        _lua_prelude(context, seed=7919)
        + f"""
local wallets = {_lua_string_list(context.wallets)}
function request()
  counter = counter + 1
  local i = math.random(#wallets)
  local j = math.random(#wallets - 1)
  if j >= i then j = j + 1 end
  local body = string.format(
    '{{"from_account":"%s","to_account":"%s","amount":{TRANSFER_MINOR},"currency":"eur"}}', wallets[i], wallets[j])
  local headers = {{
    ["Authorization"] = "Bearer " .. secret,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%s-%s-%d-%d", run_id, invocation, tid, counter),
  }}
  return wrk.format("POST", "/v1/transfers", headers, body)
end
"""
    )


def _payments_lua(context: BenchContext) -> str:
    # A fresh Luhn-valid Visa number per request (never a test card): every payment authorizes
    # and captures, and no card trips the per-card velocity rule into review.
    return (
        _lua_prelude(context, seed=104729)
        + f"""
local function card_number()
  local digits = {{4}}
  for k = 2, 15 do digits[k] = math.random(0, 9) end
  local sum = 0
  for k = 15, 1, -1 do
    local d = digits[k]
    if (15 - k) % 2 == 0 then
      d = d * 2
      if d > 9 then d = d - 9 end
    end
    sum = sum + d
  end
  return table.concat(digits) .. tostring((10 - sum % 10) % 10)
end
function request()
  counter = counter + 1
  local body = string.format(
    '{{"amount":{PAYMENT_MINOR},"currency":"eur","payment_method_data":{{"type":"card","card":'
    .. '{{"number":"%s","exp_month":12,"exp_year":2034,"cvc":"123"}}}}}}', card_number())
  local headers = {{
    ["Authorization"] = "Bearer " .. secret,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-pay-%s-%s-%d-%d", run_id, invocation, tid, counter),
  }}
  return wrk.format("POST", "/v1/payments", headers, body)
end
"""
    )


SCENARIOS: dict[str, Callable[[BenchContext], str]] = {
    "floor": _floor_lua,
    "transfers": _transfers_lua,
    "payments": _payments_lua,
}
# Measured against the floor, in this order; the first one also gets the half-peak run.
MEASURED = ["transfers", "payments"]


# --- setup ------------------------------------------------------------------------------


def database_recreate(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"refusing to recreate a database named {name!r}")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def _manage_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL"}}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PAYSYS_ENV": "development",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def database_migrate(database_url: str, redis_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=_manage_env(database_url, redis_url),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"migrating the bench database failed:\n{result.stderr[-4000:]}")


# Runs inside `manage.py shell` on the bench database: everything through the services.
_FIXTURES_SCRIPT = """
import json
from decimal import Decimal
from moneyed import Money
from accounts.models import AccountKind, OwnerType
from accounts.services import PostingLine, account_open, ledger_post, platform_account_get
from merchants.services import api_key_create, merchant_activate, merchant_onboard

merchant = merchant_onboard(name="Bench", email="bench@example.com", default_currency="EUR")
merchant_activate(merchant_id=merchant.public_id)
_key, secret = api_key_create(merchant_id=merchant.public_id)
funding = platform_account_get(kind=AccountKind.WALLET_FUNDING, currency="EUR")
wallets = []
for n in range(__WALLETS__):
    wallet = account_open(
        owner_type=OwnerType.CUSTOMER, merchant_id=merchant.public_id, kind=AccountKind.WALLET, currency="EUR"
    )
    ledger_post(
        reference=f"bench-funding:{wallet.public_id}",
        kind="funding",
        lines=[
            PostingLine(account_id=funding.pk, amount=Money(-Decimal(__FUNDING__), "EUR")),
            PostingLine(account_id=wallet.pk, amount=Money(Decimal(__FUNDING__), "EUR")),
        ],
    )
    wallets.append(wallet.public_id)
print("FIXTURES " + json.dumps({"merchant_id": merchant.public_id, "secret": secret, "wallets": wallets}))
"""


def fixtures_create(database_url: str, redis_url: str, wallets: int) -> dict:
    script = _FIXTURES_SCRIPT.replace("__WALLETS__", str(wallets)).replace(
        "__FUNDING__", json.dumps(WALLET_FUNDING)
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=_manage_env(database_url, redis_url),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"creating the bench merchant and wallets failed:\n{result.stderr[-4000:]}")
    line = next(line for line in result.stdout.splitlines() if line.startswith("FIXTURES "))
    return json.loads(line.removeprefix("FIXTURES "))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_start(
    *, database_url: str, redis_url: str, workers: int, port: int, log_path: Path
) -> subprocess.Popen:
    env = _manage_env(database_url, redis_url)
    env.update(
        {
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            "PAYSYS_BENCH": "true",
            "LOG_LEVEL": "INFO",
            "PAYSYS_RATE_LIMIT_READ_PER_SECOND": str(UNLIMITED_RATE),
            "PAYSYS_RATE_LIMIT_WRITE_PER_SECOND": str(UNLIMITED_RATE),
        }
    )
    log = log_path.open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:paysys.ops.gunicorn_conf",
            "paysys.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import httpx

    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited early; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/bench/noop", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server_stop(server)
    raise SystemExit(f"gunicorn did not answer within {SERVER_START_TIMEOUT_SECONDS} s; see {log_path}")


def server_stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- load -------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def wrk_parse(output: str, *, connections: int, duration: int) -> WrkResult:
    def number(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, output)
        if match:
            return match.group(1)
        if default is None:
            raise ValueError(f"wrk output lacks {pattern!r}:\n{output}")
        return default

    socket_errors = sum(
        int(n)
        for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", number(r"Socket errors: (.*)", ""))
    )
    return WrkResult(
        requests_per_second=float(number(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_latency_ms(number(r"\n\s+50%\s+(\S+)")),
        p99_ms=_latency_ms(number(r"\n\s+99%\s+(\S+)")),
        requests=int(number(r"(\d+) requests in")),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)", "0")),
        socket_errors=socket_errors,
        connections=connections,
        duration_s=duration,
    )


def wrk_run(
    *, base_url: str, lua: str, duration: int, connections: int, delay_ms: float | None = None
) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    # Every wrk process counts from 1 again: a fresh ``invocation`` keeps generated keys unique.
    lua = f"invocation = {json.dumps(secrets.token_hex(4))}\n" + lua
    if delay_ms is not None:
        # wrk waits delay() ms before each request of a connection: an open-ish paced load.
        lua += f"\nfunction delay()\n  return {delay_ms:.3f}\nend\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        result = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name, base_url],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 60,
        )
    finally:
        os.unlink(script.name)
    return wrk_parse(result.stdout, connections=connections, duration=duration)


def paced_run(*, context: BenchContext, lua: str, rate: float, duration: int) -> tuple[WrkResult, float]:
    """Run at about ``rate`` requests/s: one correction pass for the time requests take."""
    delay = PACED_CONNECTIONS * 1000 / rate
    result = wrk_run(
        base_url=context.base_url, lua=lua, duration=duration, connections=PACED_CONNECTIONS, delay_ms=delay
    )
    if result.requests_per_second < 0.9 * rate:
        delay = max(0.0, delay - (PACED_CONNECTIONS * 1000 / result.requests_per_second - delay))
        result = wrk_run(
            base_url=context.base_url,
            lua=lua,
            duration=duration,
            connections=PACED_CONNECTIONS,
            delay_ms=delay,
        )
    return result, rate


# --- report -----------------------------------------------------------------------------


def machine_describe() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def report_print(report: dict) -> None:
    print(
        f"paysys API benchmark — {report['date']} — {report['machine']['cpu']}, {report['machine']['cores']} cores"
    )
    # Other work on the machine shares its cores with the server, PostgreSQL and wrk.
    print(f"1-minute load average: {report['load_before']:.2f} before, {report['load_after']:.2f} after")
    print(
        f"gunicorn {report['config']['workers']} sync workers; wrk 1 thread, "
        f"{report['config']['connections']} connections, {report['config']['duration_s']} s per run"
    )
    print(f"{'scenario':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}{'errors':>8}")
    for name, row in report["scenarios"].items():
        print(
            f"{name:<22}{row['requests_per_second']:>10.0f}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}"
            f"{row['non_2xx']:>10}{row['socket_errors']:>8}"
        )
    floor = report["scenarios"]["floor"]["requests_per_second"]
    for name, ratio in report["ratios_to_floor"].items():
        target = TARGET_RATIOS[name]
        verdict = "ok" if ratio >= target else "below target"
        print(f"{name}/floor ratio: {ratio:.2f} (target ≥ {target}: {verdict})")
        cpu_ms, ceiling = report["postgres_cpu_ms_per_request"][name], report["postgres_ceilings"][name]
        if cpu_ms is not None:
            print(
                f"  PostgreSQL CPU per request {cpu_ms:.2f} ms: the server alone on every core serves at most"
                f" {ceiling:.0f}/s ({ceiling / floor:.2f} of the floor)"
            )
        gunicorn_ms = report["gunicorn_cpu_ms_per_request"][name]
        if gunicorn_ms is not None:
            print(
                f"  gunicorn CPU per request {gunicorn_ms:.2f} ms (the floor's "
                f"{report['gunicorn_cpu_ms_per_request']['floor']:.2f} ms); the target allows "
                f"{report['target_cpu_budget_ms'][name]:.2f} ms per request in all"
            )
    half = report.get("half_peak")
    if half:
        verdict = "ok" if half["p99_ms"] < TARGET_P99_MS else "above target"
        print(
            f"{half['scenario']} at half peak (target {half['target_rate']:.0f}/s, achieved "
            f"{half['requests_per_second']:.0f}/s): p50 {half['p50_ms']:.2f} ms, p99 {half['p99_ms']:.2f} ms "
            f"(target < {TARGET_P99_MS:.0f} ms: {verdict})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--duration", type=int, default=DEFAULT_DURATION_SECONDS)
    parser.add_argument("--wallets", type=int, default=DEFAULT_WALLETS)
    parser.add_argument("--scenario", action="append", choices=sorted(set(SCENARIOS) - {"floor"}))
    args = parser.parse_args()
    measured = args.scenario or MEASURED

    def say(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    say(f"preparing {args.database_url.rsplit('/', 1)[1]} (migrate, merchant, {args.wallets} wallets)")
    database_recreate(args.database_url)
    database_migrate(args.database_url, args.redis_url)
    fixtures = fixtures_create(args.database_url, args.redis_url, args.wallets)

    port = _free_port()
    log_path = Path(tempfile.gettempdir()) / "paysys-bench-gunicorn.log"
    server = server_start(
        database_url=args.database_url,
        redis_url=args.redis_url,
        workers=args.workers,
        port=port,
        log_path=log_path,
    )
    context = BenchContext(
        base_url=f"http://127.0.0.1:{port}",
        secret=fixtures["secret"],
        merchant_id=fixtures["merchant_id"],
        wallets=fixtures["wallets"],
    )
    scenarios: dict[str, WrkResult] = {}
    postgres_cpu_ms: dict[str, float | None] = {}
    gunicorn_cpu_ms: dict[str, float | None] = {}
    half_peak = None
    try:
        for name in ["floor", *measured]:
            lua = SCENARIOS[name](context)
            say(f"{name}: warm-up {WARMUP_SECONDS} s, then {args.duration} s")
            wrk_run(base_url=context.base_url, lua=lua, duration=WARMUP_SECONDS, connections=args.connections)
            cpu_before, gunicorn_before = postgres_cpu_seconds(), tree_cpu_seconds(server.pid)
            scenarios[name] = wrk_run(
                base_url=context.base_url, lua=lua, duration=args.duration, connections=args.connections
            )
            requests = scenarios[name].requests
            postgres_cpu_ms[name] = per_operation_ms(cpu_before, postgres_cpu_seconds(), requests)
            gunicorn_cpu_ms[name] = per_operation_ms(gunicorn_before, tree_cpu_seconds(server.pid), requests)
        first = measured[0]
        say(f"{first}: paced at half its peak")
        paced, rate = paced_run(
            context=context,
            lua=SCENARIOS[first](context),
            rate=scenarios[first].requests_per_second / 2,
            duration=args.duration,
        )
        half_peak = {"scenario": first, "target_rate": rate, **asdict(paced)}
    finally:
        server_stop(server)

    floor = scenarios["floor"].requests_per_second
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_describe(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "config": {
            "workers": args.workers,
            "connections": args.connections,
            "paced_connections": PACED_CONNECTIONS,
            "duration_s": args.duration,
            "wallets": args.wallets,
            "database": args.database_url.rsplit("/", 1)[1],
        },
        "scenarios": {name: asdict(result) for name, result in scenarios.items()},
        "ratios_to_floor": {name: scenarios[name].requests_per_second / floor for name in measured},
        # What one request cost PostgreSQL itself, and the requests/s that allows at most.
        "postgres_cpu_ms_per_request": postgres_cpu_ms,
        "postgres_ceilings": {name: ceiling_per_second(postgres_cpu_ms[name]) for name in measured},
        # What it cost the gunicorn master and workers, and what a request may cost in all (every
        # process, every core) for the scenario to reach its target.
        "gunicorn_cpu_ms_per_request": gunicorn_cpu_ms,
        "target_cpu_budget_ms": {
            name: (os.cpu_count() or 1) * 1000 / (TARGET_RATIOS[name] * floor) for name in measured
        },
        "half_peak": half_peak,
        "targets": {"ratio_to_floor_min": TARGET_RATIOS, "p99_ms_at_half_peak_max": TARGET_P99_MS},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        report_print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
