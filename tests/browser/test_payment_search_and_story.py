"""An operator finds a payment by its receipt e-mail and reads its whole story; finance refunds
part of it from that page. In a real browser, logged in with the second factor."""

import pytest
from moneyed import Money

from merchants.services import merchant_activate, merchant_onboard
from payments.models import Refund
from payments.services import payment_create, refund_create
from tests.payments.conftest import card

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def refunded_payment(transactional_db):
    merchant = merchant_onboard(name="Corner Shop", email="shop@example.com", default_currency="EUR")
    merchant = merchant_activate(merchant_id=merchant.public_id)
    payment = payment_create(
        merchant=merchant, amount=Money("25.00", "EUR"), card=card(), receipt_email="ann@example.com"
    )
    refund_create(payment=payment, amount=Money("5.00", "EUR"))
    return payment


def _find_and_open(page, payment):
    page.goto("/admin/payments/payment/")
    page.fill("#searchbar", "Ann@Example.com")
    page.press("#searchbar", "Enter")
    page.wait_for_selector(f"text={payment.public_id}")
    assert "EUR 25.00" in page.inner_text("#result_list")
    page.click(f"text={payment.public_id}")
    page.wait_for_selector("#payment-story")
    return page.inner_text("#payment-story")


def test_support_finds_a_payment_by_email_and_reads_its_story(operator_page, screenshot, refunded_payment):
    page = operator_page("support")
    page.goto("/admin/payments/payment/")
    page.fill("#searchbar", "ann@example.com")
    page.press("#searchbar", "Enter")
    page.wait_for_selector(f"text={refunded_payment.public_id}")
    screenshot(page, "search")
    story = _find_and_open(page, refunded_payment)
    screenshot(page, "story")
    for told in (
        "payment.created",
        "processor authorize",
        f"capture:{refunded_payment.public_id}",
        "balance after EUR 24.",
        "refund.succeeded",
        "EUR 5.00",
    ):
        assert told in story, told
    # Support reads; it is offered no refund and no action.
    assert page.locator("#story-refund").count() == 0
    assert page.locator(".story-actions").count() == 0


def test_finance_refunds_part_of_a_payment_from_its_story(operator_page, screenshot, refunded_payment):
    page = operator_page("finance")
    _find_and_open(page, refunded_payment)
    page.click("#story-refund")
    assert page.inner_text("#refundable") == "EUR 20.00"
    page.fill("#id_amount", "2.50")
    page.select_option("#id_refund_reason", "requested_by_customer")
    page.fill("#id_reason", "customer kept one item")
    screenshot(page, "refund-form")
    page.click("#refund-form input[type=submit]")
    page.wait_for_selector("#payment-story")
    assert "EUR 2.50" in page.inner_text("#payment-story")
    assert "customer kept one item" in page.inner_text("#payment-story")
    screenshot(page, "story-after-refund")
    assert Refund.objects.filter(payment=refunded_payment, amount="2.500").exists()
