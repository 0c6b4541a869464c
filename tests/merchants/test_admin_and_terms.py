"""Merchant terms services and the operators' admin: every change through a service, audited."""

from decimal import Decimal

import pytest
from django.urls import reverse

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
    merchant_fee_plan_set(merchant_id=merchant.public_id, currency="usd", basis_points=150, fixed_minor=25)
    merchant_fee_plan_set(merchant_id=merchant.public_id, currency="usd", basis_points=140, fixed_minor=20)
    terms = merchant_fee_terms_get(merchant=merchant, currency="usd")
    assert (terms.basis_points, str(terms.fixed.amount), terms.fixed.currency.code) == (140, "0.20", "USD")
    merchant_limits_set(
        merchant_id=merchant.public_id, currency="eur", max_payment_minor=100_000, daily_volume_minor=None
    )
    limits = merchant_limits_get(merchant=merchant, currency="eur")
    assert (str(limits.max_payment.amount), limits.daily_volume) == ("1000.00", None)
    assert FeePlan.objects.filter(merchant=merchant, currency="usd").count() == 1
    assert AuditEvent.objects.filter(event_type="merchant.fee_plan_set").count() == 2


@pytest.mark.parametrize(("bps", "fixed"), [(10_001, 0), (-1, 0), (100, -5)])
def test_fee_plan_out_of_range_is_refused(merchant, bps, fixed):
    with pytest.raises(InvalidRequestError):
        merchant_fee_plan_set(
            merchant_id=merchant.public_id, currency="eur", basis_points=bps, fixed_minor=fixed
        )


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


def test_admin_change_form_saves_through_services(admin_client, merchant):
    from merchants.services import merchant_onboard

    other = merchant_onboard(name="Other", email="o@example.com")
    url = reverse("admin:merchants_merchant_change", args=[merchant.pk])
    plan = FeePlan.objects.get(merchant=merchant)
    data = {
        "name": "Renamed",
        "email": merchant.email,
        "default_currency": "eur",
        "settlement_delay_days": 2,
        "reserve_percent": "5.00",
        "reserve_period_days": 30,
        "payout_schedule": "daily",
        "metadata": "{}",
        "fee_plans-TOTAL_FORMS": 1,
        "fee_plans-INITIAL_FORMS": 1,
        "fee_plans-0-id": plan.pk,
        "fee_plans-0-merchant": merchant.pk,
        "fee_plans-0-currency": "eur",
        "fee_plans-0-basis_points": 199,
        "fee_plans-0-fixed_minor": 10,
        "fee_plans-0-dispute_fee_minor": 2500,
        "platform": other.pk,  # read-only on the form: ignored
        "limits-TOTAL_FORMS": 1,
        "limits-INITIAL_FORMS": 0,
        "limits-0-merchant": merchant.pk,
        "limits-0-currency": "eur",
        "limits-0-max_payment_minor": 50_000,
        "limits-0-daily_volume_minor": "",
        "api_keys-TOTAL_FORMS": 0,
        "api_keys-INITIAL_FORMS": 0,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    merchant.refresh_from_db()
    assert (merchant.name, merchant.settlement_delay_days, merchant.reserve_percent) == (
        "Renamed",
        2,
        Decimal("5.00"),
    )
    saved_plan = FeePlan.objects.get(pk=plan.pk)
    assert (saved_plan.basis_points, saved_plan.fixed_minor, saved_plan.dispute_fee_minor) == (199, 10, 2500)
    assert merchant.platform_id is None
    assert MerchantLimit.objects.get(merchant=merchant, currency="eur").max_payment_minor == 50_000
    events = set(AuditEvent.objects.values_list("event_type", flat=True))
    assert {"merchant.updated", "merchant.fee_plan_set", "merchant.limits_set"} <= events
    assert not ApiKey.objects.exists()
