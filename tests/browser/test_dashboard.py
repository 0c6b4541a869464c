"""The dashboard in Chromium, as support and as finance: log-in lands on it, every chart is
drawn with data, and every counter's link opens the list it names."""

from datetime import timedelta

import pytest
from moneyed import Money

from dashboard.services import Span, days_refresh, today
from payments.models import Payment, Refund
from payments.services import payment_create, refund_create
from paysys.errors import CardError
from paysys.events.models import WebhookDelivery
from paysys.events.webhook_services.attempts import webhook_deliver
from paysys.operators.roles import FINANCE, SUPPORT
from settlements.models import SettlementBatch
from tests.admin.conftest import (  # noqa: F401 (fixtures)
    _fresh_processor_state,
    card,
    wallet_for,
    world,
)

DECLINE_CARD = "4000000000000002"
DAYS = 30


@pytest.fixture
def month(world, settings):  # noqa: F811 (the fixture imported above)
    """The admin's world, and a month of payments before it (each moved back to its day, as if
    taken then), in EUR and USD, some declined; the settlement batch dated today."""
    merchant = world["merchant"]
    # One test card for a month of payments: velocity would send them all to review.
    settings.PAYSYS_RISK_VELOCITY_CARD_MAX = 1000
    for back in range(1, DAYS):
        taken = [
            payment_create(merchant=merchant, amount=Money(10 + (back * 7) % 40, currency), card=card())
            for currency in ("EUR", "EUR", "USD")[: 2 + back % 2]
        ]
        if back % 5 == 0:
            refund = refund_create(payment=taken[-1], amount=Money(3, taken[-1].currency))
            Refund.objects.filter(pk=refund.pk).update(created=refund.created - timedelta(days=back))
        if back % 4 == 0:
            with pytest.raises(CardError):
                payment_create(merchant=merchant, amount=Money(12, "EUR"), card=card(DECLINE_CARD))
            taken.append(Payment.objects.order_by("-pk").first())
        for payment in taken:
            Payment.objects.filter(pk=payment.pk).update(created=payment.created - timedelta(days=back))
    SettlementBatch.objects.update(date=today())
    webhook_deliver(delivery_id=WebhookDelivery.objects.order_by("pk").first().pk)
    days_refresh(span=Span(first=today() - timedelta(days=DAYS), last=today()))
    return world


@pytest.mark.parametrize("role", [SUPPORT, FINANCE])
def test_the_dashboard_draws_every_chart_and_its_counters_open_their_lists(
    role, month, operator_page, screenshot
):
    page = operator_page(role)
    assert page.locator("h1").inner_text() == "Dashboard"
    charts = page.locator("[data-chart]")
    assert charts.count() >= 12  # 4 of every currency together, 4 of EUR, 4 of USD
    for n in range(charts.count()):
        chart = charts.nth(n)
        key = chart.get_attribute("data-chart")
        if key.startswith(("settled-USD", "payouts-USD")):
            continue  # nothing of USD was settled: drawn empty, and says so
        assert chart.get_attribute("data-has-data") == "true", key
        assert chart.locator("svg rect.dash-bar, svg circle.dash-point").count() > 0, key
        assert chart.locator("svg title").nth(1).text_content().strip(), key
    screenshot(page, "dashboard")
    counters = {
        counter.get_attribute("data-counter"): (a.get_attribute("href"), a.get_attribute("data-list"))
        for counter in page.locator("[data-counter]").all()
        for a in counter.locator("a").all()
    }
    assert {"review", "disputes_due", "payouts_on_hold", "breaks", "adjustments", "verify_ledger"} <= set(
        counters
    )
    for key, (href, names) in counters.items():
        page.goto(href)
        assert "e=1" not in page.url, key
        assert names.lower() in page.locator("#content h1").inner_text().lower(), key
    page.goto(counters["review"][0])
    assert page.get_by_text(month["review"].public_id).count() == 1
