"""Merchants with a day of payments to settle, and helpers to read what a run moved."""

from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from moneyed import Money

from accounts.models import AccountKind
from accounts.selectors import account_balance_get
from accounts.services import merchant_account_get
from merchants.services import merchant_update
from payments.services import TransferRequest, dispute_open, payment_create, refund_create
from tests.payments.conftest import (  # noqa: F401 (fixtures)
    _fresh_processor_state,
    card,
    merchant_factory,
)


def today() -> date:
    return timezone.now().date()


def tomorrow() -> date:
    """The run date that settles today's entries T+1."""
    return today() + timedelta(days=1)


def balance(merchant, kind: str, currency: str = "EUR") -> Decimal:
    account = merchant_account_get(merchant_id=merchant.public_id, kind=kind, currency=currency)
    return account_balance_get(account_id=account.pk).posted.amount


def pay(merchant, amount: str, currency: str = "EUR", **kwargs):
    payment = payment_create(merchant=merchant, amount=Money(amount, currency), card=card(), **kwargs)
    assert payment.status == "succeeded", payment.failure_code
    return payment


@contextmanager
def shifted_clock(monkeypatch, days: int):
    """Postings made inside happen ``days`` later (their entries' ``created``)."""
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(days=days))
    try:
        yield
    finally:
        monkeypatch.setattr(timezone, "now", real_now)


@pytest.fixture
def eur_day(merchant_factory):  # noqa: F811 (the fixture imported above)
    """The hand-worked EUR day of docs (fees 2.9 % + EUR 0.30, dispute fee EUR 15.00, a 10 %
    reserve for 7 days):

    - P1 100.00 captured: fee 3.20, pending +96.80
    - P2 50.00 captured: fee 1.75, +48.25; refunded 20.00 in part: -20.00
    - P3 30.00 captured: fee 1.17, +28.83; disputed: -30.00 - 15.00
    - P4 40.00 captured with 10.00 split to the connected merchant C: fee 1.46, +28.54
      (C: +10.00)
    """
    merchant = merchant_factory(bps=290, fixed=30, name="Shop")
    merchant = merchant_update(
        merchant_id=merchant.public_id, changes={"reserve_percent": Decimal(10), "reserve_period_days": 7}
    )
    connected = merchant_factory(bps=290, fixed=30, name="Connected", platform=merchant)
    p1 = pay(merchant, "100.00")
    p2 = pay(merchant, "50.00")
    refund = refund_create(payment=p2, amount=Money("20.00", "EUR"))
    p3 = pay(merchant, "30.00")
    dispute = dispute_open(payment_id=p3.public_id)
    p4 = pay(
        merchant,
        "40.00",
        transfers=[TransferRequest(destination=connected.public_id, amount=Money("10.00", "EUR"))],
    )
    return {
        "merchant": merchant,
        "connected": connected,
        "payments": [p1, p2, p3, p4],
        "refund": refund,
        "dispute": dispute,
    }


PENDING, AVAILABLE, RESERVE = AccountKind.PENDING, AccountKind.AVAILABLE, AccountKind.RESERVE
