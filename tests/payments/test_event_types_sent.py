"""Every event type the money flows send is documented: the flows below walk each path that emits
an event (success, decline, challenge, review, lost operations, refunds, disputes, transfers, top-ups) and
every type they leave in the outbox must be in ``paysys.events.types.EVENT_TYPES``, the list the
docs and the OpenAPI schema use."""

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from moneyed import Money

from accounts.models import AccountKind, OwnerType
from accounts.services import account_open, transfer_create, transfer_reverse
from payments.models import ProcessorOperation
from payments.services import (
    dispute_close,
    dispute_evidence_submit,
    payment_cancel,
    payment_capture,
    payment_confirm,
    payment_create,
    payment_review_approve,
    payment_review_decline,
    payments_resolve_processing,
    refund_create,
)
from payments.top_ups import top_up_create
from paysys.errors import CardError
from paysys.events.models import Event
from paysys.events.services import event_emit
from paysys.events.types import EVENT_TYPES
from tests.payments.conftest import card, wallet_for

# Documented and sent by code these flows do not run: settlements (the contract's types, sent by
# the settlement run) and the endpoint notice (tests/webhooks, from a real receiver's 410).
NOT_RUN_HERE = {"settlement.completed", "payout.paid", "payout.failed", "webhook_endpoint.disabled"}


def eur(value: str) -> Money:
    return Money(value, "EUR")


def _lost_on_the_way(payment, kind: str) -> None:
    """The processor never received the payment's last ``kind`` operation; the resolver finds out."""
    op = ProcessorOperation.objects.filter(payment=payment, kind=kind).latest("pk")
    cache.delete(f"paysys:sim:op:{op.reference}")
    payments_resolve_processing(min_age=timedelta(0))


def _run_every_flow(merchant, settings) -> None:
    payment_create(merchant=merchant, amount=eur("10.00"), card=card())  # automatic capture
    with contextlib.suppress(CardError):
        payment_create(merchant=merchant, amount=eur("10.00"), card=card("4000000000000002"))

    challenged = payment_create(merchant=merchant, amount=eur("10.00"), card=card("4000000000003220"))
    payment_confirm(payment=challenged, challenge_passed=True)
    failed_challenge = payment_create(merchant=merchant, amount=eur("10.00"), card=card("4000000000003220"))
    with contextlib.suppress(CardError):
        payment_confirm(payment=failed_challenge, challenge_passed=False)

    reviewed = payment_create(merchant=merchant, amount=eur("10.00"), card=card("4100000000000019"))
    payment_review_approve(payment_id=reviewed.public_id, operator_id="7")
    declined = payment_create(merchant=merchant, amount=eur("10.00"), card=card("4100000000000019"))
    payment_review_decline(payment_id=declined.public_id, operator_id="7")

    manual = payment_create(merchant=merchant, amount=eur("10.00"), card=card(), capture_method="manual")
    payment_cancel(payment=manual)

    # A capture whose request never reached the processor: the payment awaits capture again.
    lost = payment_create(merchant=merchant, amount=eur("10.00"), card=card(), capture_method="manual")
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    payment_capture(payment=lost, amount=eur("6.00"))
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    _lost_on_the_way(lost, "capture")

    refunded = payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    refund_create(payment=refunded, amount=eur("4.00"))
    cache.delete(f"paysys:sim:auth:{refunded.processor_authorization}")  # the network forgot it
    refund_create(payment=refunded, amount=eur("1.00"))  # declined: refund.failed

    disputed = payment_create(merchant=merchant, amount=eur("10.00"), card=card("4000000000000259"))
    dispute = disputed.disputes.get()
    dispute = dispute_evidence_submit(dispute=dispute, text="signed receipt", submit=True)
    dispute_close(dispute_id=dispute.public_id, outcome="won")

    wallet = wallet_for(merchant, amount=Decimal("50.00"))
    other = account_open(
        owner_type=OwnerType.CUSTOMER, merchant_id=merchant.public_id, kind=AccountKind.WALLET, currency="EUR"
    )
    payment_create(merchant=merchant, amount=eur("5.00"), source_account_id=wallet.public_id)
    with contextlib.suppress(CardError):  # wallet_for's top-up succeeded; this one is declined
        top_up_create(
            merchant=merchant, account_id=other.public_id, amount=eur("5.00"), card=card("4000000000000002")
        )
    transfer = transfer_create(
        merchant_id=merchant.public_id, from_account_id=wallet.pk, to_account_id=other.pk, amount=eur("5.00")
    )
    transfer_reverse(merchant_id=merchant.public_id, transfer_id=transfer.pk)


@pytest.mark.timeout(120)
def test_every_event_type_the_flows_send_is_documented(merchant, settings):
    settings.PAYSYS_PROCESSOR_BREAKER_THRESHOLD = 1000
    _run_every_flow(merchant, settings)
    sent = set(Event.objects.values_list("type", flat=True))
    assert sent - set(EVENT_TYPES) == set()
    # And each documented type is one these flows (or NOT_RUN_HERE's) send: none is listed idly.
    assert set(EVENT_TYPES) - sent == NOT_RUN_HERE


def test_an_undocumented_event_type_is_refused_and_nothing_is_written(db):
    with pytest.raises(ValueError, match=r"payment\.vanished"):
        event_emit(
            event_type="payment.vanished", merchant_id="mer_a", object_type="payment", data={"object": {}}
        )
    assert not Event.objects.exists()
