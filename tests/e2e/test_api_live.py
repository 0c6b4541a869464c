"""The merchant API over real HTTP (live server, one thread per request, each with its own
database connection): idempotency under concurrency, revocation, error shapes, pagination
under concurrent inserts, and no secret key in the database or the logs."""

import io
import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from accounts.models import Transfer
from merchants.services import api_key_revoke
from tests.e2e.funding import TOP_UP_CARD, funded_wallet

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _wallet(client, **extra) -> str:
    response = client.post("/v1/accounts", json={"currency": "eur", **extra})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _assert_error_shape(response: httpx.Response, status: int, error_type: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    request_id = response.headers["request-id"]
    error = response.json()["error"]
    assert {"type", "code", "message", "param", "request_id"} <= set(error)
    assert (error["type"], error["request_id"]) == (error_type, request_id)
    return error


@pytest.mark.timeout(120)
def test_twenty_concurrent_identical_transfers_make_exactly_one(tenants, http):
    a, _b = tenants
    client = http(a.secret)
    source, destination = funded_wallet(client), _wallet(client)
    body = {"from_account": source, "to_account": destination, "amount": 2500, "currency": "eur"}
    key = str(uuid.uuid4())
    barrier = threading.Barrier(20)

    def attempt(_):
        with httpx.Client(base_url=str(client.base_url), headers=client.headers, timeout=60) as own:
            barrier.wait(timeout=30)
            return own.post("/v1/transfers", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, range(20)))

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert created and len({r.content for r in created}) == 1
    assert sum(1 for r in created if r.headers.get("idempotent-replayed") != "true") == 1
    for conflict in (r for r in responses if r.status_code == 409):
        assert conflict.json()["error"]["type"] == "idempotency_error"
    assert Transfer.objects.filter(merchant_id=a.merchant_id).count() == 1
    assert client.get(f"/v1/accounts/{destination}").json()["balance"] == 2500


@pytest.mark.timeout(120)
def test_fifty_sequential_replays_are_byte_identical_and_another_body_is_422(tenants, http):
    a, _b = tenants
    client = http(a.secret)
    source, destination = funded_wallet(client), _wallet(client)
    body = {"from_account": source, "to_account": destination, "amount": 100, "currency": "eur"}
    headers = {"Idempotency-Key": "replay-me"}
    first = client.post("/v1/transfers", json=body, headers=headers)
    assert first.status_code == 201
    for _ in range(50):
        again = client.post("/v1/transfers", json=body, headers=headers)
        assert (again.status_code, again.content) == (201, first.content)
        assert again.headers["idempotent-replayed"] == "true"
    other = client.post("/v1/transfers", json={**body, "amount": 101}, headers=headers)
    assert _assert_error_shape(other, 422, "idempotency_error")["param"] == "Idempotency-Key"
    assert Transfer.objects.count() == 1


@pytest.mark.timeout(60)
def test_revoked_key_is_refused_on_the_next_request(tenants, http):
    a, _b = tenants
    client = http(a.secret)
    assert client.get("/v1/balance").status_code == 200
    api_key_revoke(prefix=a.secret[:16])
    _assert_error_shape(client.get("/v1/balance"), 401, "authentication_error")


@pytest.mark.timeout(60)
def test_errors_from_django_and_drf_have_the_one_shape(tenants, http, monkeypatch):
    a, _b = tenants
    client = http(a.secret)
    _assert_error_shape(client.get("/v1/no-such-route"), 404, "invalid_request_error")
    _assert_error_shape(client.get("/nowhere"), 404, "invalid_request_error")
    _assert_error_shape(client.get("/v1/accounts/acct_unknown"), 404, "invalid_request_error")
    _assert_error_shape(client.delete("/v1/balance"), 405, "invalid_request_error")
    malformed = client.post(
        "/v1/accounts", content=b'{"currency": ', headers={"Content-Type": "application/json"}
    )
    _assert_error_shape(malformed, 400, "invalid_request_error")
    form = client.post("/v1/accounts", content=b"currency=eur", headers={"Content-Type": "text/plain"})
    _assert_error_shape(form, 415, "invalid_request_error")
    _assert_error_shape(http().get("/v1/balance"), 401, "authentication_error")
    _assert_error_shape(http("sk_test_" + "x" * 40).get("/v1/balance"), 401, "authentication_error")

    def explode(**_kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr("accounts.api.views.balance_for_merchant", explode)
    crash = _assert_error_shape(client.get("/v1/balance"), 500, "api_error")
    assert "simulated" not in crash["message"]


@pytest.mark.timeout(120)
def test_pagination_neither_skips_nor_repeats_under_concurrent_inserts(tenants, http):
    a, _b = tenants
    client = http(a.secret)
    existing = [_wallet(client) for _ in range(12)]
    stop = threading.Event()
    inserted: list[str] = []

    def insert_while_paging():
        with httpx.Client(base_url=str(client.base_url), headers=client.headers, timeout=30) as own:
            while not stop.is_set() and len(inserted) < 30:
                inserted.append(_wallet(own))

    writer = threading.Thread(target=insert_while_paging)
    writer.start()
    try:
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, "kind": "wallet"} | ({"starting_after": cursor} if cursor else {})
            page = client.get("/v1/accounts", params=params).json()
            seen += [row["id"] for row in page["data"]]
            if not page["has_more"]:
                break
            cursor = page["data"][-1]["id"]
    finally:
        stop.set()
        writer.join(timeout=30)
    assert len(seen) == len(set(seen))
    # Everything that existed when paging began is seen, newest first, and nothing newer than the
    # first page's head sneaks in behind the cursor.
    assert [i for i in seen if i in existing] == list(reversed(existing))
    assert set(seen) <= set(existing) | set(inserted)


def _database_text() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        parts = []
        for table in tables:
            cursor.execute(f'SELECT t::text FROM "{table}" AS t')
            parts += [row[0] for row in cursor.fetchall()]
    return "\n".join(parts)


@pytest.mark.timeout(120)
def test_no_secret_key_in_the_database_or_the_logs(tenants, http, settings):
    a, b = tenants
    console = next(h for h in logging.getLogger().handlers if getattr(h, "formatter", None) is not None)
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(console.formatter)
    for log_filter in console.filters:
        handler.addFilter(log_filter)
    # The root logger and Django's own, SQL included (logged only with DEBUG on): every statement
    # the server runs, with its parameters, goes through the scan too.
    settings.DEBUG = True
    loggers = [logging.getLogger(name) for name in ("", "django", "django.db.backends")]
    previous_levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        client = http(a.secret)
        source, destination = funded_wallet(client), _wallet(client)
        client.post(
            "/v1/transfers",
            json={"from_account": source, "to_account": destination, "amount": 5, "currency": "eur"},
            headers={"Idempotency-Key": "scan"},
        )
        http(a.read_secret).post("/v1/accounts", json={"currency": "eur"})
        http(b.secret).get(f"/v1/accounts/{source}")
        api_key_revoke(prefix=b.secret[:16])
        http(b.secret).get("/v1/balance")
        http(a.secret + "x").get("/v1/balance")
    finally:
        for logger, level in zip(loggers, previous_levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    logs = captured.getvalue()
    assert '"path": "/v1/transfers"' in logs  # the scan read real access-log lines
    assert "INSERT INTO" in logs  # and the SQL with its parameters
    text = _database_text()
    assert a.merchant_id in text  # the dump is real
    for secret in (a.secret, a.read_secret, b.secret, b.read_secret):
        assert secret not in text
        assert secret not in logs
        assert secret[len("sk_test_") :] not in text
        assert secret[len("sk_test_") :] not in logs
    # The top-up that funded the wallet carried a card number: it is in neither.
    assert TOP_UP_CARD["number"] not in text and TOP_UP_CARD["number"] not in logs
    json.dumps(logs)
