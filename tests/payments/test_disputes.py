from decimal import Decimal

import pytest
from moneyed import Money

from accounts.models import AccountKind, LedgerAccount
from accounts.selectors import account_balance_get
from payments.models import Dispute
from payments.services import dispute_close, dispute_open, payment_create, refund_create
from paysys.errors import ConflictError
from paysys.events.models import Event
from tests.payments.conftest import assert_ledger_ok, card

EUR = "EUR"


def eur(value: str) -> Money:
    return Money(value, EUR)


def posted(merchant_id: str, kind: str) -> Decimal:
    account = LedgerAccount.objects.get(merchant_id=merchant_id, kind=kind, currency=EUR, livemode=False)
    return account_balance_get(account_id=account.pk).posted.amount


@pytest.fixture
def zero_fee_merchant(merchant_factory, settings):
    settings.PAYSYS_DISPUTE_FEE_MINOR = {"EUR": 1500, "JPY": 1500}
    return merchant_factory(bps=0, fixed=0)


def test_dispute_card_opens_a_dispute_after_capture(zero_fee_merchant):
    payment = payment_create(merchant=zero_fee_merchant, amount=eur("100.00"), card=card("4000000000000259"))
    payment.refresh_from_db()
    assert payment.status == "succeeded" and payment.disputed
    dispute = Dispute.objects.get(payment=payment)
    assert (dispute.amount, dispute.fee, dispute.status) == (
        eur("100.00"),
        eur("15.00"),
        "needs_response",
    )
    assert Event.objects.filter(type="dispute.created", object_id=dispute.public_id).exists()
    # 100 in, 115 out: the 15 the merchant cannot cover is carried by the platform.
    assert posted(zero_fee_merchant.public_id, AccountKind.PENDING) == 0
    assert dispute.platform_shortfall == eur("15.00")
    assert_ledger_ok()


def test_operator_dispute_debits_amount_and_fee_and_won_returns_the_amount(zero_fee_merchant):
    mid = zero_fee_merchant.public_id
    first = payment_create(merchant=zero_fee_merchant, amount=eur("100.00"), card=card())
    payment_create(merchant=zero_fee_merchant, amount=eur("50.00"), card=card())
    refund_create(payment=first, amount=eur("20.00"))
    dispute = dispute_open(payment_id=first.public_id, reason="fraudulent", operator_id="9")
    assert dispute.amount == eur("80.00") and dispute.platform_shortfall == eur("0")
    assert posted(mid, AccountKind.PENDING) == Decimal("130.00") - Decimal("95.00")
    closed = dispute_close(dispute_id=dispute.public_id, outcome="won", operator_id="9")
    assert closed.status == "won"
    # The amount comes back, the dispute fee does not.
    assert posted(mid, AccountKind.PENDING) == Decimal("115.00")
    assert Event.objects.filter(type="dispute.closed", object_id=dispute.public_id).exists()
    assert_ledger_ok()


def test_lost_dispute_moves_nothing_more_and_books_the_shortfall_as_loss(zero_fee_merchant):
    payment = payment_create(merchant=zero_fee_merchant, amount=eur("10.00"), card=card())
    dispute = dispute_open(payment_id=payment.public_id)
    losses_before = posted("", AccountKind.DISPUTE_LOSSES)
    dispute_close(dispute_id=dispute.public_id, outcome="lost")
    assert posted("", AccountKind.DISPUTE_LOSSES) == losses_before == -dispute.platform_shortfall.amount
    assert posted(zero_fee_merchant.public_id, AccountKind.PENDING) == 0
    assert_ledger_ok()


def test_won_dispute_repays_the_platform_shortfall_first(zero_fee_merchant):
    payment = payment_create(merchant=zero_fee_merchant, amount=eur("10.00"), card=card())
    dispute = dispute_open(payment_id=payment.public_id)  # 10 + 15 fee against 10: shortfall 15
    assert dispute.platform_shortfall == eur("15.00")
    dispute_close(dispute_id=dispute.public_id, outcome="won")
    # 10 returned: all of it repays the platform's 15 shortfall (5 stay a loss), none to the merchant.
    assert posted("", AccountKind.DISPUTE_LOSSES) == Decimal("-5.00")
    assert posted(zero_fee_merchant.public_id, AccountKind.PENDING) == 0
    assert_ledger_ok()


def test_a_payment_is_disputed_once_and_a_disputed_payment_is_not_refundable(zero_fee_merchant):
    payment = payment_create(merchant=zero_fee_merchant, amount=eur("10.00"), card=card())
    dispute = dispute_open(payment_id=payment.public_id)
    with pytest.raises(ConflictError):
        dispute_open(payment_id=payment.public_id)
    payment.refresh_from_db()
    with pytest.raises(ConflictError) as info:
        refund_create(payment=payment)
    assert info.value.code == "charge_disputed"
    dispute_close(dispute_id=dispute.public_id, outcome="lost")
    with pytest.raises(ConflictError):
        dispute_close(dispute_id=dispute.public_id, outcome="won")


def test_the_fee_plan_sets_the_dispute_fee_per_currency(merchant_factory, settings):
    from merchants.services import merchant_fee_plan_set

    settings.PAYSYS_DISPUTE_FEE_MINOR = {"EUR": 1500, "JPY": 1500}
    shop = merchant_factory(currency="JPY", bps=0, fixed=0)
    merchant_fee_plan_set(
        merchant_id=shop.public_id,
        currency="JPY",
        basis_points=0,
        fixed=Money(0, "JPY"),
        dispute_fee=Money(2000, "JPY"),
    )
    payment = payment_create(merchant=shop, amount=Money(10000, "JPY"), card=card())
    dispute = dispute_open(payment_id=payment.public_id, reason="fraudulent", operator_id="9")
    assert dispute.fee == Money(2000, "JPY")  # ¥2,000 from the plan, not the 1,500 default
    # ¥10,000 captured, ¥12,000 owed: pending is emptied and the platform carries ¥2,000.
    pending = LedgerAccount.objects.get(
        merchant_id=shop.public_id, kind=AccountKind.PENDING, currency="JPY", livemode=False
    )
    assert account_balance_get(account_id=pending.pk).posted.amount == 0
    assert dispute.platform_shortfall == Money(2000, "JPY")
    assert_ledger_ok()
