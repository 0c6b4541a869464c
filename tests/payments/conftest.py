from decimal import Decimal

import pytest
from django.core.cache import cache
from moneyed import Money

from accounts.models import AccountKind, OwnerType
from accounts.services import account_open, ledger_verify
from merchants.services import merchant_activate, merchant_onboard
from payments.processor import breaker
from payments.top_ups import top_up_create
from paysys.money import minor_to_money

SUCCESS = "4242424242424242"


@pytest.fixture(autouse=True)
def _fresh_processor_state():
    """Each test starts with a closed breaker and empty velocity counters and simulator records."""
    cache.clear()
    breaker.reset()
    yield
    breaker.reset()


def card(number: str = SUCCESS) -> dict:
    return {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}


@pytest.fixture
def merchant_factory(db):
    def make(
        *, currency: str = "EUR", bps: int = 290, fixed: int | None = 30, name: str = "Shop", platform=None
    ):
        """``fixed`` in minor units; ``None``: the plan follows the platform's fixed fee for ``currency``."""
        merchant = merchant_onboard(
            name=name,
            email="shop@example.com",
            default_currency=currency,
            fee_basis_points=bps,
            fee_fixed=None if fixed is None else minor_to_money(fixed, currency),
            platform_id=platform.public_id if platform else None,
        )
        return merchant_activate(merchant_id=merchant.public_id)

    return make


@pytest.fixture
def merchant(merchant_factory):
    return merchant_factory()


def wallet_for(merchant, *, amount: Decimal, currency: str = "EUR"):
    """A customer wallet of ``merchant`` funded as money enters one: a card top-up of ``amount``.
    It holds the top-up's net: ``amount`` less the merchant's fee for a payment."""
    wallet = account_open(
        owner_type=OwnerType.CUSTOMER,
        merchant_id=merchant.public_id,
        kind=AccountKind.WALLET,
        currency=currency,
    )
    top_up = top_up_create(
        merchant=merchant, account_id=wallet.public_id, amount=Money(amount, currency), card=card()
    )
    assert top_up.status == "succeeded"
    return wallet


def assert_ledger_ok():
    result = ledger_verify()
    assert result.ok, result.failures


@pytest.fixture
def api_client_for():
    from rest_framework.test import APIClient

    from merchants.services import api_key_create

    def make(merchant):
        _, secret = api_key_create(merchant_id=merchant.public_id)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return make


@pytest.fixture
def api(merchant, api_client_for):
    return api_client_for(merchant)
