"""The `make run` path: with no DATABASE_URL, REDIS_URL or broker set, the project migrates an
empty SQLite database under a fresh ``var/`` and the ledger moves money on it.

Runs in subprocesses, because the test session itself is configured for PostgreSQL.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]

# Runs inside `manage.py shell`: two wallets, a funding posting, a transfer (twice, one
# reference) and its reversal.
LEDGER_SCRIPT = """
import json
from decimal import Decimal
from django.db import connection
from moneyed import Money
from accounts.models import AccountKind, OwnerType
from accounts.selectors import account_balance_get
from accounts.services import (
    PostingLine, account_open, ledger_post, platform_account_get, transfer_create, transfer_reverse,
)

merchant = "mer_sqlitesmoke0000000000001"
wallets = [
    account_open(owner_type=OwnerType.CUSTOMER, merchant_id=merchant, kind=AccountKind.WALLET, currency="EUR")
    for _ in range(2)
]
funding = platform_account_get(kind=AccountKind.WALLET_FUNDING, currency="EUR")
ledger_post(
    reference="sqlite-smoke-funding",
    kind="funding",
    lines=[
        PostingLine(account_id=funding.pk, amount=Money(Decimal("-100.00"), "EUR")),
        PostingLine(account_id=wallets[0].pk, amount=Money(Decimal("100.00"), "EUR")),
    ],
)
transfer = transfer_create(
    merchant_id=merchant, from_account_id=wallets[0].public_id, to_account_id=wallets[1].public_id,
    amount=Money(Decimal("30.50"), "EUR"), reference="sqlite-smoke-transfer",
)
again = transfer_create(
    merchant_id=merchant, from_account_id=wallets[0].public_id, to_account_id=wallets[1].public_id,
    amount=Money(Decimal("30.50"), "EUR"), reference="sqlite-smoke-transfer",
)
after_transfer = [str(account_balance_get(account_id=w.pk).posted.amount) for w in wallets]
reversed_transfer = transfer_reverse(merchant_id=merchant, transfer_id=transfer.public_id)
after_reversal = [str(account_balance_get(account_id=w.pk).posted.amount) for w in wallets]
print("RESULT " + json.dumps({
    "vendor": connection.vendor,
    "database": str(connection.settings_dict["NAME"]),
    "same_transfer": again.pk == transfer.pk,
    "after_transfer": after_transfer,
    "after_reversal": after_reversal,
    "reversed_status": reversed_transfer.status,
    "funding": str(account_balance_get(account_id=funding.pk).posted.amount),
}))
"""


def _embedded_env(var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update({"PAYSYS_VAR_DIR": str(var_dir), "PAYSYS_ENV": "development", "LOG_LEVEL": "WARNING"})
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_migrations_a_ledger_transfer_and_its_reversal_work_on_sqlite_with_no_service(tmp_path):
    var_dir = tmp_path / "var"
    env = _embedded_env(var_dir)

    _manage("migrate", "--noinput", env=env)
    shell = _manage("shell", "-c", LEDGER_SCRIPT, env=env)

    line = next(line for line in shell.stdout.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    assert result["vendor"] == "sqlite"
    assert Path(result["database"]).parent == var_dir
    assert (var_dir / "broker").is_dir()  # Celery's filesystem transport lives there too
    assert result["same_transfer"] is True
    assert [Decimal(v) for v in result["after_transfer"]] == [Decimal("69.50"), Decimal("30.50")]
    assert [Decimal(v) for v in result["after_reversal"]] == [Decimal("100.00"), Decimal("0.00")]
    assert result["reversed_status"] == "reversed"
    assert Decimal(result["funding"]) == Decimal("-100.00")

    # Migrating again is a no-op: `make run` migrates on every start.
    again = _manage("migrate", "--noinput", env=env)
    assert "No migrations to apply" in again.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_make_run_serves_the_admin_on_sqlite_and_one_interrupt_stops_every_process(tmp_path):
    """What `make run` starts after migrating and seeding: web, worker and beat under honcho."""
    env = _embedded_env(tmp_path / "var")
    port = _free_port()
    env["PAYSYS_PORT"] = str(port)
    _manage("migrate", "--noinput", env=env)
    seeded = _manage("seed_demo", env=env)
    assert "sk_test_" in seeded.stdout
    assert f"http://127.0.0.1:{port}/admin/" in seeded.stdout  # the URL it is about to serve
    log = tmp_path / "honcho.log"
    with log.open("w") as out:
        honcho = subprocess.Popen(
            [str(Path(sys.executable).with_name("honcho")), "-f", "Procfile", "start"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and status != 200:
            assert honcho.poll() is None, log.read_text()[-3000:]
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2).status_code
            except httpx.HTTPError:
                time.sleep(0.5)
        assert status == 200, log.read_text()[-3000:]
        while time.monotonic() < deadline and "ready" not in log.read_text():
            time.sleep(0.5)  # the worker says "celery@... ready." once it consumes
        output = log.read_text()
        assert "ready" in output and "beat" in output, output[-3000:]
        honcho.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert honcho.wait(timeout=60) is not None
        # Every process of the group is gone: nothing left running after one interrupt.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(honcho.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("processes survived the interrupt:\n" + log.read_text()[-3000:])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(honcho.pid, signal.SIGKILL)
