"""Payments under a faulty processor: refusals and lost answers never unbalance the ledger, and
once the processor answers again the resolver leaves no payment in ``processing``."""

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from moneyed import Money

from accounts.models import JournalTransaction
from payments.models import Payment, ProcessorOperation
from payments.processor import breaker
from payments.processor.simulator import _rng
from payments.services import payment_create, payments_resolve_processing
from paysys.audit.models import AuditEvent
from paysys.errors import CardError, ServiceUnavailableError
from paysys.events.models import Event
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


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_a_lost_answer_resolved_by_two_workers_at_once_is_applied_once(merchant_factory, settings):
    """Two resolvers, each on its own connection, ask about the same pending authorization and
    both try to apply the answer: one records it (and captures), the other changes nothing."""
    merchant = merchant_factory()
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    payment = payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card())
    assert payment.status == "processing"
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    workers = 2
    barrier = threading.Barrier(workers)
    counts: list[dict] = []
    errors: list[str] = []

    def resolve() -> None:
        try:
            barrier.wait()
            counts.append(payments_resolve_processing(min_age=timedelta(0)))
        except Exception as exc:  # reported below: a thread's exception would not fail the test
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(c["resolved"] for c in counts) == 1, counts
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    authorize = ProcessorOperation.objects.get(payment=payment, kind="authorize")
    assert authorize.status == "succeeded" and authorize.resolved_at is not None
    assert ProcessorOperation.objects.filter(payment=payment, kind="capture").count() == 1
    authorized = AuditEvent.objects.filter(
        object_id=payment.public_id, previous_state="processing", new_state="requires_capture"
    )
    assert authorized.count() == 1
    assert Event.objects.filter(object_id=payment.public_id, type="payment.authorized").count() == 1
    assert Event.objects.filter(object_id=payment.public_id, type="payment.captured").count() == 1
    assert JournalTransaction.objects.filter(reference=f"capture:{payment.public_id}").count() == 1
    assert_ledger_ok()
