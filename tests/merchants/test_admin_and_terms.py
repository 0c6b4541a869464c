"""Merchant terms services and the operators' admin: every change through a service, audited."""

import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from moneyed import Money

from merchants.models import ApiKey, FeePlan, Merchant, MerchantLimit
from merchants.selectors import merchant_fee_terms_get, merchant_limits_get
from merchants.services import (
    api_key_create,
    merchant_activate,
    merchant_fee_plan_set,
    merchant_limits_set,
    merchant_onboard,
    merchant_update,
)
from paysys.audit.models import AuditEvent
from paysys.errors import InvalidRequestError

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    merchant = merchant_onboard(name="Shop", email="shop@example.com")
    return merchant_activate(merchant_id=merchant.public_id)


def test_update_changes_terms_and_leaves_an_audit_row(merchant):
    merchant_update(
        merchant_id=merchant.public_id,
        changes={
            "settlement_delay_days": 3,
            "reserve_percent": Decimal("10.00"),
            "payout_schedule": "weekly",
        },
    )
    merchant.refresh_from_db()
    assert (merchant.settlement_delay_days, merchant.reserve_percent, merchant.payout_schedule) == (
        3,
        Decimal("10.00"),
        "weekly",
    )
    assert AuditEvent.objects.filter(event_type="merchant.updated", object_id=merchant.public_id).exists()


def test_update_cannot_change_the_status(merchant):
    with pytest.raises(InvalidRequestError):
        merchant_update(merchant_id=merchant.public_id, changes={"status": "closed"})


def test_fee_plan_and_limits_per_currency(merchant):
    usd = merchant.public_id
    merchant_fee_plan_set(merchant_id=usd, currency="USD", basis_points=150, fixed=Money("0.25", "USD"))
    merchant_fee_plan_set(merchant_id=usd, currency="USD", basis_points=140, fixed=Money("0.20", "USD"))
    terms = merchant_fee_terms_get(merchant=merchant, currency="USD")
    assert (terms.basis_points, terms.fixed, terms.dispute_fee) == (
        140,
        Money("0.20", "USD"),
        Money("15.00", "USD"),  # no dispute fee of its own: the platform's for USD
    )
    merchant_limits_set(
        merchant_id=merchant.public_id, currency="EUR", max_payment=Money(1000, "EUR"), daily_volume=None
    )
    limits = merchant_limits_get(merchant=merchant, currency="EUR")
    assert (limits.max_payment, limits.daily_volume) == (Money("1000.00", "EUR"), None)
    assert FeePlan.objects.filter(merchant=merchant, currency="USD").count() == 1
    rows = AuditEvent.objects.filter(event_type="merchant.fee_plan_set").order_by("pk")
    assert [(row.currency, row.metadata["fixed"]) for row in rows] == [("USD", "0.25"), ("USD", "0.20")]


@pytest.mark.parametrize(
    ("bps", "fixed", "dispute_fee", "param"),
    [
        (10_001, Money(0, "EUR"), None, "basis_points"),
        (-1, Money(0, "EUR"), None, "basis_points"),
        (100, Money("-0.05", "EUR"), None, "fixed"),
        (100, Money("0.05", "USD"), None, "fixed"),  # not the plan's currency
        (100, Money("0.055", "EUR"), None, "fixed"),  # not a whole number of cents
        (100, None, Money("-1", "EUR"), "dispute_fee"),
    ],
)
def test_fee_plan_out_of_range_is_refused(merchant, bps, fixed, dispute_fee, param):
    with pytest.raises(InvalidRequestError) as info:
        merchant_fee_plan_set(
            merchant_id=merchant.public_id,
            currency="EUR",
            basis_points=bps,
            fixed=fixed,
            dispute_fee=dispute_fee,
        )
    assert info.value.param == param


@pytest.mark.parametrize("limit", [Money(0, "EUR"), Money(-5, "EUR"), Money(5, "JPY"), Money("0.001", "EUR")])
def test_a_limit_is_a_positive_amount_of_the_rows_currency(merchant, limit):
    with pytest.raises(InvalidRequestError) as info:
        merchant_limits_set(
            merchant_id=merchant.public_id, currency="EUR", max_payment=limit, daily_volume=None
        )
    assert info.value.param == "max_payment"


@pytest.mark.parametrize(
    ("model", "column", "value"),
    [
        (FeePlan, "currency", "eur"),
        (FeePlan, "fixed", Decimal("-0.01")),
        (FeePlan, "dispute_fee", Decimal("-1")),
        (MerchantLimit, "currency", "eur"),
        (MerchantLimit, "max_payment", Decimal(0)),
        (MerchantLimit, "daily_volume", Decimal("-1")),
        (Merchant, "default_currency", "eur"),
    ],
)
def test_the_database_refuses_lower_case_currencies_and_negative_amounts(merchant, model, column, value):
    if model is Merchant:
        rows = Merchant.objects.filter(pk=merchant.pk)
    else:
        if model is MerchantLimit:
            merchant_limits_set(
                merchant_id=merchant.public_id, currency="EUR", max_payment=None, daily_volume=None
            )
        rows = model.objects.filter(merchant=merchant)
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.update(**{column: value})


def test_admin_pages_render_without_the_secret_hash(admin_client, merchant):
    key, secret = api_key_create(merchant_id=merchant.public_id)
    page = admin_client.get(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
    assert page.status_code == 200
    assert key.prefix in page.content.decode()
    key_page = admin_client.get(reverse("admin:merchants_apikey_change", args=[key.pk])).content.decode()
    assert key.secret_hash not in key_page and secret not in key_page


def test_admin_suspend_action_goes_through_the_service(admin_client, merchant):
    response = admin_client.post(
        reverse("admin:merchants_merchant_changelist"),
        {"action": "suspend", "_selected_action": [merchant.pk], "confirm": "yes", "reason": "chargebacks"},
    )
    assert response.status_code == 302
    assert Merchant.objects.get(pk=merchant.pk).status == "suspended"
    row = AuditEvent.objects.get(event_type="merchant.suspended")
    assert (row.actor_type, row.metadata["reason"]) == ("operator", "chargebacks")


def _change_form(merchant, **changes) -> dict:
    """The merchant's change form as an operator posts it, with ``changes``."""
    other = merchant_onboard(name="Other", email="o@example.com")
    plan = FeePlan.objects.get(merchant=merchant)
    return {
        "name": "Renamed",
        "email": merchant.email,
        "default_currency": "USD",  # read-only on the form: ignored
        "settlement_delay_days": 2,
        "reserve_percent": "5.00",
        "reserve_period_days": 30,
        "payout_schedule": "daily",
        "metadata": "{}",
        "change_reason": "new contract, ticket 88",
        "fee_plans-TOTAL_FORMS": 1,
        "fee_plans-INITIAL_FORMS": 1,
        "fee_plans-0-id": plan.pk,
        "fee_plans-0-merchant": merchant.pk,
        "fee_plans-0-currency": "EUR",
        "fee_plans-0-basis_points": 199,
        "fee_plans-0-fixed_0": "0.10",
        "fee_plans-0-fixed_1": "EUR",
        "fee_plans-0-dispute_fee_0": "25.00",
        "fee_plans-0-dispute_fee_1": "EUR",
        "platform": other.pk,  # read-only on the form: ignored
        "limits-TOTAL_FORMS": 1,
        "limits-INITIAL_FORMS": 0,
        "limits-0-merchant": merchant.pk,
        "limits-0-currency": "EUR",
        "limits-0-max_payment_0": "500.00",
        "limits-0-max_payment_1": "EUR",
        "limits-0-daily_volume_0": "",
        "limits-0-daily_volume_1": "EUR",
        "api_keys-TOTAL_FORMS": 0,
        "api_keys-INITIAL_FORMS": 0,
    } | changes


def test_admin_change_form_saves_through_services(admin_client, merchant):
    url = reverse("admin:merchants_merchant_change", args=[merchant.pk])
    plan = FeePlan.objects.get(merchant=merchant)
    data = _change_form(merchant)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    merchant.refresh_from_db()
    assert (merchant.name, merchant.settlement_delay_days, merchant.reserve_percent) == (
        "Renamed",
        2,
        Decimal("5.00"),
    )
    saved_plan = FeePlan.objects.get(pk=plan.pk)
    assert (saved_plan.basis_points, saved_plan.fixed, saved_plan.dispute_fee) == (
        199,
        Money("0.10", "EUR"),
        Money("25.00", "EUR"),
    )
    assert (merchant.platform_id, merchant.default_currency) == (None, "EUR")
    limits = MerchantLimit.objects.get(merchant=merchant, currency="EUR")
    assert (limits.max_payment, limits.daily_volume) == (Money(500, "EUR"), None)
    saved = AuditEvent.objects.filter(
        event_type__in=["merchant.updated", "merchant.fee_plan_set", "merchant.limits_set"]
    )
    assert {(row.event_type, row.actor_type, row.metadata["reason"]) for row in saved} == {
        (event, "operator", "new contract, ticket 88")
        for event in ("merchant.updated", "merchant.fee_plan_set", "merchant.limits_set")
    }
    assert not ApiKey.objects.exists()


def test_a_change_a_service_refuses_saves_nothing_and_says_why(admin_client, merchant):
    url = reverse("admin:merchants_merchant_change", args=[merchant.pk])
    plan = FeePlan.objects.get(merchant=merchant)
    data = _change_form(merchant, **{"fee_plans-0-fixed_1": "USD"})  # a EUR plan's fee in USD
    response = admin_client.post(url, data, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "Nothing was saved: The fixed fee must be an amount in EUR." in response.content.decode()
    # The profile and the limits on the same form were rolled back with the fee plan.
    assert Merchant.objects.get(pk=merchant.pk).name == "Shop"
    assert FeePlan.objects.get(pk=plan.pk).basis_points == plan.basis_points
    assert not MerchantLimit.objects.exists()
    assert not AuditEvent.objects.filter(event_type__in=["merchant.updated", "merchant.limits_set"]).exists()


def test_the_change_form_shows_fees_and_limits_as_money(admin_client, merchant):
    merchant_limits_set(
        merchant_id=merchant.public_id, currency="EUR", max_payment=Money("750.00", "EUR"), daily_volume=None
    )
    page = admin_client.get(reverse("admin:merchants_merchant_change", args=[merchant.pk])).content.decode()
    assert 'name="limits-0-max_payment_0" value="750.000"' in page
    # An empty amount (the plan's fixed fee follows the default) offers the row's currency.
    for name in ("limits-0-max_payment_1", "limits-0-daily_volume_1", "fee_plans-0-fixed_1"):
        select = re.search(rf'<select name="{name}".*?</select>', page, re.DOTALL)
        assert '<option value="EUR" selected>' in select.group(0), name
