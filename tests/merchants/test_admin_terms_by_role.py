"""A merchant's terms on its admin page, by role: finance sets the fee plan and the settlement
delay, risk the rolling reserve and the limits, each with a reason that reaches the audit rows;
a field outside the operator's permission is not changed, even by a crafted POST."""

from decimal import Decimal

import pytest
from django.urls import reverse
from moneyed import Money

from merchants.models import FeePlan, Merchant, MerchantLimit
from merchants.services import merchant_activate, merchant_onboard
from paysys.audit.models import AuditEvent
from tests.admin.conftest import staff_client

pytestmark = pytest.mark.django_db

VIEW = [
    "merchants.view_merchant",
    "merchants.view_feeplan",
    "merchants.view_merchantlimit",
    "merchants.view_apikey",
]
FEES = "merchants.set_merchant_fees"
RISK_TERMS = "merchants.set_merchant_risk_terms"


@pytest.fixture
def merchant():
    merchant = merchant_onboard(name="Shop", email="shop@example.com", default_currency="EUR")
    return merchant_activate(merchant_id=merchant.public_id)


def _post(merchant: Merchant, *, reason: str, limit: str = "", **fields) -> dict:
    """Everything the page posts: the merchant's fields as they are, changed by ``fields``; its
    EUR fee plan (basis points from ``fields["basis_points"]``); a new EUR limit row if ``limit``."""
    plan = FeePlan.objects.get(merchant=merchant, currency="EUR")
    data = {
        "name": merchant.name,
        "email": merchant.email,
        "settlement_delay_days": merchant.settlement_delay_days,
        "reserve_percent": str(merchant.reserve_percent),
        "reserve_period_days": merchant.reserve_period_days,
        "payout_schedule": merchant.payout_schedule,
        "metadata": "{}",
        "change_reason": reason,
        "fee_plans-TOTAL_FORMS": 1,
        "fee_plans-INITIAL_FORMS": 1,
        "fee_plans-0-id": plan.pk,
        "fee_plans-0-merchant": merchant.pk,
        "fee_plans-0-currency": "EUR",
        "fee_plans-0-basis_points": fields.pop("basis_points", plan.basis_points),
        "fee_plans-0-fixed_0": "" if plan.fixed is None else str(plan.fixed.amount),
        "fee_plans-0-fixed_1": "EUR",
        "fee_plans-0-dispute_fee_0": "",
        "fee_plans-0-dispute_fee_1": "EUR",
        "limits-TOTAL_FORMS": 1 if limit else 0,
        "limits-INITIAL_FORMS": 0,
        "api_keys-TOTAL_FORMS": 0,
        "api_keys-INITIAL_FORMS": 0,
        **fields,
    }
    if limit:
        data.update(
            {
                "limits-0-merchant": merchant.pk,
                "limits-0-currency": "EUR",
                "limits-0-max_payment_0": limit,
                "limits-0-max_payment_1": "EUR",
                "limits-0-daily_volume_0": "",
                "limits-0-daily_volume_1": "EUR",
            }
        )
    return data


def _change(merchant: Merchant) -> str:
    return reverse("admin:merchants_merchant_change", args=[merchant.pk])


def test_finance_sets_fees_and_settlement_delay_but_not_the_reserve(merchant):
    client, user = staff_client(username="finance", perms=[*VIEW, FEES])
    data = _post(
        merchant,
        reason="contract renewed, ticket 52",
        basis_points=190,
        settlement_delay_days=3,
        reserve_percent="25.00",  # not finance's: ignored
        name="Renamed",  # not finance's either
    )
    response = client.post(_change(merchant), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    merchant.refresh_from_db()
    assert (merchant.settlement_delay_days, merchant.reserve_percent, merchant.name) == (
        3,
        Decimal("0"),
        "Shop",
    )
    assert FeePlan.objects.get(merchant=merchant, currency="EUR").basis_points == 190
    rows = AuditEvent.objects.filter(event_type__in=["merchant.updated", "merchant.fee_plan_set"]).order_by(
        "id"
    )
    assert [row.event_type for row in rows] == ["merchant.updated", "merchant.fee_plan_set"]
    assert {(row.actor_type, row.actor_id, row.metadata["reason"]) for row in rows} == {
        ("operator", str(user.pk), "contract renewed, ticket 52")
    }
    assert rows[0].metadata["settlement_delay_days"] == "3"


def test_risk_sets_the_rolling_reserve_and_limits_but_not_the_fees(merchant):
    client, user = staff_client(username="risk", perms=[*VIEW, RISK_TERMS])
    basis_points = FeePlan.objects.get(merchant=merchant, currency="EUR").basis_points
    data = _post(
        merchant,
        reason="chargebacks rising",
        limit="500.00",
        reserve_percent="10.00",
        reserve_period_days=90,
        basis_points=1,  # not risk's: ignored
        settlement_delay_days=9,  # nor this
    )
    response = client.post(_change(merchant), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    merchant.refresh_from_db()
    assert (merchant.reserve_percent, merchant.reserve_period_days, merchant.settlement_delay_days) == (
        Decimal("10.00"),
        90,
        1,
    )
    assert FeePlan.objects.get(merchant=merchant, currency="EUR").basis_points == basis_points
    assert MerchantLimit.objects.get(merchant=merchant, currency="EUR").max_payment == Money("500.00", "EUR")
    rows = AuditEvent.objects.filter(event_type__in=["merchant.updated", "merchant.limits_set"])
    assert {(row.event_type, row.actor_id, row.metadata["reason"]) for row in rows} == {
        ("merchant.updated", str(user.pk), "chargebacks rising"),
        ("merchant.limits_set", str(user.pk), "chargebacks rising"),
    }
    assert not AuditEvent.objects.filter(event_type="merchant.fee_plan_set").exists()


def test_a_change_without_a_reason_saves_nothing(merchant):
    client, _ = staff_client(username="finance", perms=[*VIEW, FEES])
    response = client.post(_change(merchant), _post(merchant, reason="", settlement_delay_days=4))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["change_reason"]
    assert Merchant.objects.get(pk=merchant.pk).settlement_delay_days == 1
    assert not AuditEvent.objects.filter(event_type="merchant.updated").exists()


def test_an_operator_without_a_terms_permission_changes_nothing(merchant):
    client, _ = staff_client(username="support", perms=VIEW)
    page = client.get(_change(merchant))
    assert page.status_code == 200 and b'name="change_reason"' not in page.content
    response = client.post(_change(merchant), _post(merchant, reason="crafted", settlement_delay_days=5))
    assert response.status_code == 403
    assert Merchant.objects.get(pk=merchant.pk).settlement_delay_days == 1
    assert not AuditEvent.objects.filter(metadata__reason="crafted").exists()
