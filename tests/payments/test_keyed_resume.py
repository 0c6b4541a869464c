"""A keyed request whose process dies while the processor acts is resumed by its retry.

The crash is a ``BaseException`` raised by the processor right after it performed the
operation (its answer lost with the process): nothing of the request's open phase commits,
the idempotency checkpoint before the call does. The retry with the same key sends the
committed operation again under its reference and goes on; the processor answers with its
first result, so each operation is performed once.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import Payment, ProcessorOperation, Refund, TopUp
from payments.processor import processor_get
from payments.processor.simulator import SimulatorProcessor
from payments.services import payments_resolve_processing
from paysys.idempotency.models import IdempotencyKey
from tests.payments.conftest import assert_ledger_ok, card

pytestmark = pytest.mark.django_db(transaction=True)


class ProcessDied(BaseException):
    """The server process died: nothing catches it on the way out."""


class CrashingProcessor(SimulatorProcessor):
    """The simulator, dying once right after it performed an operation of a kind in ``crash_on``."""

    crash_on: set[str] = set()

    def _run(self, reference, timeout, act, *, kind, amount=None):
        result = super()._run(reference, timeout, act, kind=kind, amount=amount)
        if kind in self.crash_on:
            self.crash_on.discard(kind)
            raise ProcessDied(kind)
        return result


@pytest.fixture
def crashing(settings):
    settings.PAYSYS_PROCESSOR_BACKEND = f"{__name__}.CrashingProcessor"
    CrashingProcessor.crash_on = set()
    return CrashingProcessor


def _post(api, path, body, key):
    return api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _pay(api, key, **extra):
    body = {"amount": 1000, "currency": "eur", "payment_method_data": {"type": "card", "card": card()}}
    return _post(api, "/v1/payments", {**body, **extra}, key)


def _crashes(call):
    with pytest.raises(ProcessDied):
        call()


def _performed() -> Counter:
    """What the processor did today, per (payment, kind); every line must be known to paysys."""
    lines = processor_get().settlement_report(date=timezone.now().date(), timeout=5)
    known = dict(ProcessorOperation.objects.values_list("reference", "payment__public_id"))
    assert [line.reference for line in lines if line.reference not in known] == []
    return Counter((known[line.reference], line.kind) for line in lines)


@pytest.mark.parametrize("dies_in", ["authorize", "capture"])
def test_a_payment_whose_process_died_is_finished_by_its_retry(api, crashing, dies_in):
    crashing.crash_on = {dies_in}
    _crashes(lambda: _pay(api, "k1"))
    payment = Payment.objects.get()
    assert payment.status == "processing"
    assert IdempotencyKey.objects.get().recovery_point.startswith(f"{payment.public_id}:{dies_in}:")
    retried = _pay(api, "k1")
    assert retried.status_code == 201, retried.content
    assert (retried.json()["id"], retried.json()["status"]) == (payment.public_id, "succeeded")
    assert _performed() == {(payment.public_id, "authorize"): 1, (payment.public_id, "capture"): 1}
    replay = _pay(api, "k1")
    assert (replay.content, replay["Idempotent-Replayed"]) == (retried.content, "true")
    assert Payment.objects.count() == 1
    assert_ledger_ok()


def test_what_nobody_retries_the_resolver_finishes(api, crashing):
    crashing.crash_on = {"authorize"}
    _crashes(lambda: _pay(api, "k1"))
    payments_resolve_processing(min_age=timedelta(0))
    payment = Payment.objects.get()
    assert payment.status == "succeeded"
    assert _performed() == {(payment.public_id, "authorize"): 1, (payment.public_id, "capture"): 1}
    # A late retry answers with the payment as the resolver left it.
    late = _pay(api, "k1")
    assert (late.status_code, late.json()["id"], late.json()["status"]) == (
        201,
        payment.public_id,
        "succeeded",
    )
    assert_ledger_ok()


def test_a_retry_refused_by_an_open_breaker_leaves_the_operation_pending(api, crashing, settings):
    """The attempt that died reached the processor: a breaker refusing the retry's call says
    nothing about it, so it stays pending (a 503) and the next retry finishes it."""
    from payments.processor import breaker

    crashing.crash_on = {"authorize"}
    _crashes(lambda: _pay(api, "k1"))
    settings.PAYSYS_PROCESSOR_BREAKER_THRESHOLD = 1
    breaker.record_failure()
    refused = _pay(api, "k1")
    assert refused.status_code == 503, refused.content
    payment = Payment.objects.get()
    op = ProcessorOperation.objects.get(kind="authorize")
    assert (op.status, payment.status) == ("pending", "processing")
    breaker.reset()
    retried = _pay(api, "k1")
    assert (retried.status_code, retried.json()["status"]) == (201, "succeeded")
    assert _performed() == {(payment.public_id, "authorize"): 1, (payment.public_id, "capture"): 1}
    assert_ledger_ok()


def test_a_top_up_whose_process_died_is_finished_by_its_retry(api, crashing):
    wallet = api.post("/v1/accounts", {"currency": "eur"}, format="json").json()["id"]
    body = {
        "account": wallet,
        "amount": 1000,
        "currency": "eur",
        "payment_method_data": {"type": "card", "card": card()},
    }
    crashing.crash_on = {"authorize"}
    _crashes(lambda: _post(api, "/v1/top_ups", body, "t1"))
    retried = _post(api, "/v1/top_ups", body, "t1")
    assert retried.status_code == 201, retried.content
    top_up = TopUp.objects.get()
    assert (retried.json()["id"], retried.json()["status"]) == (top_up.public_id, "succeeded")
    assert _performed() == {
        (top_up.payment.public_id, "authorize"): 1,
        (top_up.payment.public_id, "capture"): 1,
    }
    assert_ledger_ok()


def test_a_capture_whose_process_died_is_finished_by_its_retry(api, crashing):
    created = _pay(api, "create", capture_method="manual").json()
    crashing.crash_on = {"capture"}
    capture = f"/v1/payments/{created['id']}/capture"
    _crashes(lambda: _post(api, capture, {"amount": 600}, "cap"))
    retried = _post(api, capture, {"amount": 600}, "cap")
    assert retried.status_code == 200, retried.content
    assert (retried.json()["status"], retried.json()["amount_captured"]) == ("succeeded", 600)
    assert _performed()[(created["id"], "capture")] == 1
    assert_ledger_ok()


def test_a_refund_whose_process_died_is_finished_by_its_retry(api, crashing):
    paid = _pay(api, "pay").json()
    crashing.crash_on = {"refund"}
    _crashes(lambda: _post(api, "/v1/refunds", {"payment": paid["id"], "amount": 300}, "re"))
    retried = _post(api, "/v1/refunds", {"payment": paid["id"], "amount": 300}, "re")
    assert retried.status_code == 201, retried.content
    assert retried.json()["status"] == "succeeded"
    assert list(Refund.objects.values_list("public_id", flat=True)) == [retried.json()["id"]]
    assert _performed()[(paid["id"], "refund")] == 1
    assert_ledger_ok()


def test_a_cancel_whose_process_died_is_finished_by_its_retry(api, crashing):
    created = _pay(api, "create", capture_method="manual").json()
    crashing.crash_on = {"void"}
    cancel = f"/v1/payments/{created['id']}/cancel"
    _crashes(lambda: _post(api, cancel, {}, "void"))
    retried = _post(api, cancel, {}, "void")
    assert (retried.status_code, retried.json()["status"]) == (200, "canceled")
    assert _performed()[(created["id"], "void")] == 1
