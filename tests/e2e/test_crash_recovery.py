"""A request killed mid-way (SIGKILL of the server process) is completed by a retry with the
same Idempotency-Key, exactly once."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from django.db import connection

from accounts.models import LedgerAccount, Transfer
from paysys import crypto
from paysys.idempotency.models import IdempotencyKey
from tests.e2e.funding import funded_wallet

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _server_start(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PAYSYS_ENV": "test",
        "PAYSYS_RATE_LIMIT_ENABLED": "false",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "paysys.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:  # e.g. another process took the port in the meantime
            raise AssertionError(f"the server exited with {process.returncode} before serving")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("the server did not start")


def _wait_for_lock_waiter(victim: threading.Thread, outcome: dict, timeout: float = 30) -> None:
    """Until a backend of this database is waiting for a lock (the request under test).

    Its own autocommit connection: inside a transaction pg_stat_activity is one frozen snapshot.
    A request that ended without waiting fails the test at once, with what it got.
    """
    deadline = time.monotonic() + timeout
    with psycopg.connect(_database_url().replace("postgres://", "postgresql://"), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            if not victim.is_alive():
                result = outcome.get("result")
                detail = (
                    f"{result.status_code} {result.text}" if isinstance(result, httpx.Response) else result
                )
                raise AssertionError(f"the request ended without waiting on the locked rows: {detail!r}")
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if row[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the request never reached the locked rows")


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the server's process group (master and worker); a second call does nothing."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


# Where the request is held when the server dies:
# - "posting": the balance-shard rows both accounts post to are locked, so it waits inside the
#   ledger posting, before its commit: the database rolls everything back;
# - "commit": the account rows are locked, which blocks only the deferred foreign-key checks run
#   by COMMIT: the commit finishes after the process is gone, business write and stored
#   response together.
LOCKS = {
    "posting": "SELECT 1 FROM accounts_ledgerbalanceshard WHERE account_id = ANY(%s) FOR UPDATE",
    "commit": "SELECT 1 FROM accounts_ledgeraccount WHERE id = ANY(%s) FOR UPDATE",
}


def _wait_for_no_lock_waiter(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(_database_url().replace("postgres://", "postgresql://"), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            ).fetchone()
            if not row[0]:
                return
            time.sleep(0.05)


@pytest.mark.parametrize("held_at", sorted(LOCKS))
@pytest.mark.timeout(120)
def test_request_killed_mid_way_completes_exactly_once_on_retry(tenants, http, held_at):
    a, _b = tenants
    client = http(a.secret)
    source = funded_wallet(client)
    destination = client.post("/v1/accounts", json={"currency": "eur"}).json()["id"]
    body = {"from_account": source, "to_account": destination, "amount": 4200, "currency": "eur"}
    headers = {"Authorization": f"Bearer {a.secret}", "Idempotency-Key": "killed-once"}
    account_pks = list(
        LedgerAccount.objects.filter(public_id__in=[source, destination]).values_list("pk", flat=True)
    )

    port = _free_port()
    server = _server_start(port)
    blocker = psycopg.connect(_database_url().replace("postgres://", "postgresql://"), autocommit=False)
    try:
        blocker.execute(LOCKS[held_at], [account_pks])
        outcome: dict[str, BaseException | httpx.Response] = {}

        def victim() -> None:
            try:
                with httpx.Client(timeout=httpx.Timeout(60, connect=5)) as own:
                    outcome["result"] = own.post(
                        f"http://127.0.0.1:{port}/v1/transfers", json=body, headers=headers
                    )
            except httpx.HTTPError as exc:
                outcome["result"] = exc

        thread = threading.Thread(target=victim)
        thread.start()
        _wait_for_lock_waiter(thread, outcome)
        _kill(server)  # the server dies while the request waits inside the posting
        thread.join(timeout=30)
        assert isinstance(outcome.get("result"), httpx.HTTPError), outcome
    finally:
        _kill(server)  # also when the test failed before killing it
        blocker.rollback()
        blocker.close()
    _wait_for_no_lock_waiter()
    # What the killed request left: nothing, or (died in COMMIT) both the transfer and its
    # stored response; never one without the other.
    stored = IdempotencyKey.objects.filter(merchant=a.merchant_id, key="killed-once").first()
    if held_at == "posting":
        assert (stored, Transfer.objects.count()) == (None, 0)
    else:
        assert (stored is not None, Transfer.objects.count()) in {(False, 0), (True, 1)}

    restarted = _server_start(port)
    try:
        statuses = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/transfers", json=body, headers=headers, timeout=30
            )
            statuses.append(response.status_code)
            if response.status_code != 409:
                break
            time.sleep(0.3)
        assert response.status_code == 201, (statuses, response.text)
        assert set(statuses[:-1]) <= {409}
        if stored is not None:
            assert response.headers["idempotent-replayed"] == "true"
            assert response.content == crypto.decrypt(bytes(stored.response_body))
        replay = httpx.post(f"http://127.0.0.1:{port}/v1/transfers", json=body, headers=headers, timeout=30)
        assert (replay.status_code, replay.content) == (201, response.content)
        assert replay.headers["idempotent-replayed"] == "true"
    finally:
        _kill(restarted)
    assert Transfer.objects.filter(merchant_id=a.merchant_id).count() == 1
    assert client.get(f"/v1/accounts/{destination}").json()["balance"] == 4200
