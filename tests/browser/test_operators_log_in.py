"""Each role logs in through the browser with the second factor, sees the index, and meets its limits."""

import pytest
from moneyed import Money

from merchants.services import merchant_activate, merchant_onboard
from payments.services import payment_create
from paysys.operators.roles import ADMIN, FINANCE, RISK, ROLES, SUPPORT
from tests.payments.conftest import card

REVIEW_CARD = "4100000000000019"
APPROVE_REVIEW = "Approve review (capture proceeds)"


@pytest.fixture
def payment_in_review(transactional_db):
    merchant = merchant_onboard(name="Shop", email="shop@example.com", default_currency="EUR")
    merchant = merchant_activate(merchant_id=merchant.public_id)
    return payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card(REVIEW_CARD))


def action_choices(page) -> list[str]:
    select = page.locator("select[name=action]")
    return select.locator("option").all_inner_texts() if select.count() else []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_logs_in_with_the_second_factor_and_sees_the_index(role, operator_page, screenshot):
    page = operator_page(role)
    assert page.locator("#site-name").inner_text().startswith("paysys back office")
    assert page.locator("#user-tools").inner_text().upper().startswith(f"WELCOME, {role}-0".upper())
    assert page.get_by_role("link", name="Payments", exact=True).count() >= 1
    screenshot(page, "index")


def test_support_is_offered_no_action_on_payments(payment_in_review, operator_page, screenshot):
    page = operator_page(SUPPORT)
    page.goto("/admin/payments/payment/")
    assert page.get_by_text(payment_in_review.public_id).count() == 1
    assert action_choices(page) == []
    screenshot(page, "payments")


def test_risk_may_approve_a_review_but_not_release_a_payout(payment_in_review, operator_page, screenshot):
    page = operator_page(RISK)
    page.goto("/admin/payments/payment/")
    assert APPROVE_REVIEW in action_choices(page)
    screenshot(page, "payments")
    page.goto("/admin/settlements/payout/")
    assert not any("Release" in choice for choice in action_choices(page))


def test_finance_may_not_decide_reviews(payment_in_review, operator_page, screenshot):
    page = operator_page(FINANCE)
    page.goto("/admin/payments/payment/")
    assert page.get_by_text(payment_in_review.public_id).count() == 1
    assert APPROVE_REVIEW not in action_choices(page)
    screenshot(page, "payments")


def test_only_admin_manages_operators(operator_page, screenshot):
    admin_page = operator_page(ADMIN)
    assert admin_page.get_by_role("link", name="Groups").count() == 1
    support_page = operator_page(SUPPORT)
    assert support_page.get_by_role("link", name="Groups").count() == 0
    screenshot(admin_page, "index")
