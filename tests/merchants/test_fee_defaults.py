"""Fixed and dispute fees are per currency: a plan's own amount, else the platform's default for
that currency, never one number of minor units for every currency."""

import pytest
from django.urls import reverse
from moneyed import Money

from merchants.models import FeePlan
from merchants.selectors import merchant_fee_terms_get
from merchants.services import merchant_activate, merchant_fee_plan_set, merchant_onboard

pytestmark = pytest.mark.django_db


def _onboard(currency: str, **fees):
    merchant = merchant_onboard(name="Shop", email="shop@example.com", default_currency=currency, **fees)
    return merchant_activate(merchant_id=merchant.public_id)


@pytest.mark.parametrize(
    ("currency", "fixed", "dispute_fee"),
    [
        ("JPY", Money("30", "JPY"), Money("2000", "JPY")),
        ("EUR", Money("0.25", "EUR"), Money("15.00", "EUR")),
        ("USD", Money("0.30", "USD"), Money("15.00", "USD")),
        ("GBP", Money("0.20", "GBP"), Money("15.00", "GBP")),
        ("KWD", Money("0.100", "KWD"), Money("5.000", "KWD")),
    ],
)
def test_a_new_plan_takes_the_default_fees_of_its_currency(currency, fixed, dispute_fee):
    merchant = _onboard(currency)
    assert FeePlan.objects.get(merchant=merchant).fixed is None  # follows the default
    terms = merchant_fee_terms_get(merchant=merchant, currency=currency)
    assert (terms.fixed, terms.dispute_fee) == (fixed, dispute_fee)


def test_a_currency_without_a_plan_takes_its_own_default_not_the_merchants():
    merchant = _onboard("EUR")
    assert merchant_fee_terms_get(merchant=merchant, currency="KWD").fixed == Money("0.100", "KWD")
    assert merchant_fee_terms_get(merchant=merchant, currency="JPY").fixed == Money("30", "JPY")


def test_a_currency_the_defaults_do_not_list_has_no_fixed_or_dispute_fee(settings):
    settings.PAYSYS_DEFAULT_FEE_FIXED_MINOR = {"EUR": 25}
    settings.PAYSYS_DISPUTE_FEE_MINOR = {"EUR": 1500}
    merchant = _onboard("EUR")
    terms = merchant_fee_terms_get(merchant=merchant, currency="ISK")
    assert (terms.fixed, terms.dispute_fee) == (Money(0, "ISK"), Money(0, "ISK"))


def test_the_plans_own_fixed_fee_wins_even_when_zero():
    merchant = _onboard("KWD", fee_fixed=Money(0, "KWD"))
    assert merchant_fee_terms_get(merchant=merchant, currency="KWD").fixed == Money(0, "KWD")
    merchant_fee_plan_set(
        merchant_id=merchant.public_id, currency="KWD", basis_points=100, fixed=Money("0.250", "KWD")
    )
    assert merchant_fee_terms_get(merchant=merchant, currency="KWD").fixed == Money("0.250", "KWD")
    merchant_fee_plan_set(merchant_id=merchant.public_id, currency="KWD", basis_points=100, fixed=None)
    assert merchant_fee_terms_get(merchant=merchant, currency="KWD").fixed == Money("0.100", "KWD")


def test_the_admin_saves_an_empty_fixed_fee_as_the_currency_default(admin_client):
    merchant = _onboard("KWD", fee_fixed=Money("0.030", "KWD"))
    plan = FeePlan.objects.get(merchant=merchant)
    data = {
        "name": merchant.name,
        "email": merchant.email,
        "settlement_delay_days": 1,
        "reserve_percent": "0.00",
        "reserve_period_days": 0,
        "payout_schedule": "daily",
        "metadata": "{}",
        "change_reason": "fee plan of the contract signed today",
        "fee_plans-TOTAL_FORMS": 2,
        "fee_plans-INITIAL_FORMS": 1,
        "fee_plans-0-id": plan.pk,
        "fee_plans-0-merchant": merchant.pk,
        "fee_plans-0-currency": "KWD",
        "fee_plans-0-basis_points": 250,
        "fee_plans-0-fixed_0": "",
        "fee_plans-0-fixed_1": "KWD",
        "fee_plans-0-dispute_fee_0": "",
        "fee_plans-0-dispute_fee_1": "KWD",
        "fee_plans-1-merchant": merchant.pk,
        "fee_plans-1-currency": "JPY",
        "fee_plans-1-basis_points": 300,
        "fee_plans-1-fixed_0": "40",
        "fee_plans-1-fixed_1": "JPY",
        "fee_plans-1-dispute_fee_0": "",
        "fee_plans-1-dispute_fee_1": "JPY",
        "limits-TOTAL_FORMS": 0,
        "limits-INITIAL_FORMS": 0,
        "api_keys-TOTAL_FORMS": 0,
        "api_keys-INITIAL_FORMS": 0,
    }
    response = admin_client.post(reverse("admin:merchants_merchant_change", args=[merchant.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert FeePlan.objects.get(pk=plan.pk).fixed is None
    assert merchant_fee_terms_get(merchant=merchant, currency="KWD").fixed == Money("0.100", "KWD")
    assert merchant_fee_terms_get(merchant=merchant, currency="JPY").fixed == Money("40", "JPY")
