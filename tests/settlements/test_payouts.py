"""Payouts through the simulated bank: paid, failed (funds back), held and released."""

from datetime import timedelta
from decimal import Decimal

import pytest
from moneyed import Money

from merchants.services import merchant_update
from paysys.errors import InvalidRequestError
from paysys.events.models import Event
from settlements.models import Payout, PayoutHold
from settlements.services import payout_hold, payout_release, payout_send, payouts_update, settlement_run
from tests.settlements.conftest import AVAILABLE, balance, pay, tomorrow

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(merchant_factory):
    shop = merchant_factory()
    pay(shop, "100.00")  # fee 3.20: net 96.80
    return shop


def _payout(shop) -> Payout:
    return Payout.objects.select_related("settlement").get(merchant=shop)


def test_a_payout_is_sent_then_paid_on_its_arrival_date(shop):
    settlement_run(date=tomorrow())
    payout = _payout(shop)
    assert (payout.status, payout.amount) == (Payout.Status.PENDING, Money("96.80", "EUR"))
    assert Event.objects.filter(type="settlement.completed", object_id=payout.settlement.public_id).exists()

    payout = payout_send(payout_pk=payout.pk, today=tomorrow())
    assert payout.status == Payout.Status.IN_TRANSIT
    assert payout.arrival_date == tomorrow() + timedelta(days=1)
    assert payouts_update(today=tomorrow()) == {}  # not due yet

    assert payouts_update(today=tomorrow() + timedelta(days=1)) == {"paid": 1}
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert payout.paid_transaction.reference == f"payout_paid:{payout.public_id}"
    event = Event.objects.get(type="payout.paid")
    assert event.data["object"]["id"] == payout.public_id
    assert event.data["object"]["amount"] == 9680
    # Asked again: nothing moves twice.
    assert payouts_update(today=tomorrow() + timedelta(days=2)) == {}
    assert Event.objects.filter(type="payout.paid").count() == 1


def test_a_failed_payout_gives_the_funds_back_to_available(shop):
    merchant_update(merchant_id=shop.public_id, changes={"metadata": {"payout_outcome": "account_closed"}})
    settlement_run(date=tomorrow())
    assert balance(shop, AVAILABLE) == 0
    # The sweep sends the pending payout (its message was never delivered here), then learns the outcome.
    assert payouts_update(today=tomorrow()) == {"in_transit": 1}
    assert payouts_update(today=tomorrow() + timedelta(days=1)) == {"failed": 1}
    payout = _payout(shop)
    assert (payout.status, payout.failure_code) == (Payout.Status.FAILED, "account_closed")
    assert payout.return_transaction.reference == f"payout_failed:{payout.public_id}"
    assert balance(shop, AVAILABLE) == Decimal("96.80")
    assert Event.objects.get(type="payout.failed").data["object"]["failure_code"] == "account_closed"


def test_a_held_merchants_payouts_wait_until_released(shop):
    with pytest.raises(InvalidRequestError):
        payout_hold(merchant_id=shop.public_id, reason=" ")
    hold = payout_hold(merchant_id=shop.public_id, reason="KYC review", operator_id="7")
    settlement_run(date=tomorrow())
    payout = _payout(shop)
    assert payout.status == Payout.Status.ON_HOLD
    assert payouts_update(today=tomorrow()) == {}
    assert payout_send(payout_pk=payout.pk).status == Payout.Status.ON_HOLD

    with pytest.raises(InvalidRequestError):
        payout_release(merchant_id=shop.public_id, reason="")
    payout_release(merchant_id=shop.public_id, reason="KYC cleared", operator_id="7")
    hold.refresh_from_db()
    assert (hold.release_reason, hold.released_by) == ("KYC cleared", "7")
    assert _payout(shop).status == Payout.Status.PENDING
    assert payouts_update(today=tomorrow()) == {"in_transit": 1}


def test_a_hold_puts_a_pending_payout_on_hold(shop):
    settlement_run(date=tomorrow())
    payout_hold(merchant_id=shop.public_id, reason="fraud check")
    assert _payout(shop).status == Payout.Status.ON_HOLD
    # One open hold per merchant: holding again keeps it.
    payout_hold(merchant_id=shop.public_id, reason="again")
    assert PayoutHold.objects.filter(merchant=shop, released_at__isnull=True).count() == 1
