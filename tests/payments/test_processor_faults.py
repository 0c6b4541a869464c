"""Payments under a faulty processor: refusals and lost answers never unbalance the ledger, and
once the processor answers again the resolver leaves no payment in ``processing``."""

import contextlib
from datetime import timedelta

import pytest
from moneyed import Money

from accounts.models import JournalTransaction
from payments.models import Payment, ProcessorOperation
from payments.processor import breaker
from payments.processor.simulator import _rng
from payments.services import payment_create, payments_resolve_processing
from paysys.errors import CardError, ServiceUnavailableError
from tests.payments.conftest import assert_ledger_ok, card

PAYMENTS = 20


@pytest.mark.timeout(120)
def test_random_refusals_and_timeouts_resolve_to_consistent_payments(merchant, settings):
    _rng.seed(20261123)
    settings.PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE = 0.2
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.3
    settings.PAYSYS_PROCESSOR_BREAKER_THRESHOLD = 1000  # exercise the faults, not the breaker
    for _ in range(PAYMENTS):
        with contextlib.suppress(CardError, ServiceUnavailableError):
            payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card())
    assert Payment.objects.filter(status="processing").exists()

    settings.PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE = 0.0
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    breaker.reset()
    for _ in range(3):  # a resolved authorization may start a capture, resolved on the next pass
        payments_resolve_processing(min_age=timedelta(0))

    assert not Payment.objects.filter(status__in=["processing", "requires_capture"]).exists()
    assert not ProcessorOperation.objects.filter(status="pending").exists()
    for payment in Payment.objects.all():
        captured = JournalTransaction.objects.filter(reference=f"capture:{payment.public_id}").exists()
        assert captured == (payment.status == "succeeded"), payment
        if payment.status == "failed":
            assert payment.failure_code == "processing_error"
    assert Payment.objects.filter(status="succeeded").count() >= PAYMENTS // 2
    assert_ledger_ok()
