"""Chaos: a burst of keyed card payments through real gunicorn, with a slow processor, and a
worker SIGKILLed mid-burst; every key is retried until it has its answer.

Afterwards each key has exactly one payment; the processor (the simulator, whose records live
in Redis, shared with the server) performed exactly one authorization and at most one capture
for each payment, every one of its operations is a ``ProcessorOperation`` paysys knows,
processor reconciliation finds no break, and the ledger verifies. Before the idempotency
checkpoint, a worker killed during the processor call rolled its payment back while the
processor kept the authorization (and sometimes the capture): the retry charged the card again.
"""

import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.services import ledger_verify
from payments.models import Payment, ProcessorOperation
from payments.processor import breaker, processor_get
from payments.reconciliation import processor_reconcile
from payments.services import payments_resolve_processing
from tests.api.helpers import tenant_create
from tests.gunicorn_server import free_port, server_kill, server_start, server_workers
from tests.payments.conftest import card

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KEYS = 24
CONCURRENCY = 6
LATENCY_MS = 150
# Retried until a final answer: no answer (the killed worker), 409 (the key still held) or a 5xx.
RETRIED_STATUSES = frozenset({409, 500, 502, 503})
RETRY_DEADLINE_S = 30


def _post(port: int, secret: str, key: str) -> httpx.Response | None:
    try:
        return httpx.post(
            f"http://127.0.0.1:{port}/v1/payments",
            json={"amount": 1250, "currency": "eur", "payment_method_data": {"type": "card", "card": card()}},
            headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key},
            timeout=httpx.Timeout(30, connect=5),
        )
    except httpx.HTTPError:
        return None


def _until_answered(port: int, secret: str, key: str) -> httpx.Response:
    deadline = time.monotonic() + RETRY_DEADLINE_S
    while True:
        response = _post(port, secret, key)
        if response is not None and response.status_code not in RETRIED_STATUSES:
            return response
        assert time.monotonic() < deadline, (key, response and (response.status_code, response.text))
        time.sleep(0.2)


@pytest.mark.timeout(120)
def test_a_worker_killed_mid_burst_never_charges_a_card_twice(settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    cache.clear()  # the simulator's records and report, shared with the server through Redis
    breaker.reset()
    tenant = tenant_create("Chaos Shop")
    keys = [f"chaos-{n}" for n in range(KEYS)]
    port = free_port()
    server = server_start(
        port,
        workers=2,
        PAYSYS_PROCESSOR_SIMULATOR_LATENCY_MS=str(LATENCY_MS),
        # One test card pays every time: its velocity is the point here, not a risk.
        PAYSYS_RISK_VELOCITY_CARD_MAX=str(10 * KEYS),
        PAYSYS_RISK_VELOCITY_IP_MAX=str(10 * KEYS),
    )
    try:
        started = threading.Event()

        def first_attempt(key: str) -> httpx.Response | None:
            started.set()
            return _post(port, tenant.secret, key)

        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            burst = [pool.submit(first_attempt, key) for key in keys]
            assert started.wait(timeout=10)
            # Both workers are busy, most of the time inside a processor call (its latency).
            time.sleep(4 * LATENCY_MS / 1000)
            victim = server_workers(server)[0]
            os.kill(victim, signal.SIGKILL)
            first = [future.result(timeout=60) for future in burst]
        assert any(r is None or r.status_code >= 500 for r in first), "the kill hit no request"
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            answers = dict(
                zip(keys, pool.map(lambda k: _until_answered(port, tenant.secret, k), keys), strict=True)
            )
        assert {key: r.status_code for key, r in answers.items() if r.status_code != 201} == {}
        # Once answered, a key replays its answer byte for byte.
        replay = _post(port, tenant.secret, keys[0])
        assert (replay.status_code, replay.content) == (201, answers[keys[0]].content)
        assert replay.headers["idempotent-replayed"] == "true"
    finally:
        server_kill(server)
    payments_resolve_processing(min_age=timedelta(0))

    paid = {key: r.json()["id"] for key, r in answers.items()}
    assert len(set(paid.values())) == KEYS
    payments = Payment.objects.filter(merchant__public_id=tenant.merchant_id)
    assert sorted(payments.values_list("public_id", flat=True)) == sorted(paid.values())
    assert set(payments.values_list("status", flat=True)) == {"succeeded"}

    performed = processor_get().settlement_report(date=timezone.now().date(), timeout=5)
    known = dict(ProcessorOperation.objects.values_list("reference", "payment__public_id"))
    unknown = [line.reference for line in performed if line.reference not in known]
    assert unknown == [], "operations the processor performed that paysys does not know"
    per_payment = Counter((known[line.reference], line.kind) for line in performed)
    assert {pay: per_payment[(pay, "authorize")] for pay in paid.values()} == dict.fromkeys(paid.values(), 1)
    assert {pay: per_payment[(pay, "capture")] for pay in paid.values()} == dict.fromkeys(paid.values(), 1)
    assert set(ProcessorOperation.objects.values_list("status", flat=True)) == {"succeeded"}
    assert processor_reconcile(date=timezone.now().date())["breaks"] == 0
    result = ledger_verify()
    assert result.ok, result.failures
