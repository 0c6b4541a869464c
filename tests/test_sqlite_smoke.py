"""The `make run` path: with no DATABASE_URL, REDIS_URL or broker set, the project migrates an
empty SQLite database under a fresh ``var/`` and the ledger moves money on it.

Runs in subprocesses, because the test session itself is configured for PostgreSQL.
"""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

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
