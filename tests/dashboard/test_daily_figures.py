"""The dashboard's daily figures equal a GROUP BY over the base tables, after a mix of service
calls over several days, merchants, currencies and modes; a refresh rewrites, never adds."""

from collections import Counter, defaultdict
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import TestCase
from moneyed import Money

from dashboard.models import DeliveryDay, PaymentDay
from dashboard.services import Span, all_days, changing_days, days_refresh, today
from payments.models import Dispute, Payment, Refund
from payments.services import dispute_close, dispute_open, payment_capture, payment_create, refund_create
from paysys.errors import CardError
from paysys.events.models import WebhookDelivery
from paysys.events.webhook_services import webhook_endpoint_create
from tests.admin.conftest import REVIEW_CARD, UNREACHABLE_URL
from tests.payments.conftest import card

pytestmark = pytest.mark.django_db

DECLINE_CARD = "4000000000000002"
FIGURES = [
    f.name
    for f in PaymentDay._meta.concrete_fields
    if f.name not in ("id", "day", "merchant", "currency", "livemode")
]


def _day(moment):
    return moment.astimezone(UTC).date() if moment else None


def expected_payment_days() -> dict[tuple, dict[str, Decimal]]:
    """The figures computed here, row by row, from the base tables (not the SQL under test)."""
    days: dict[tuple, Counter] = defaultdict(Counter)
    for p in Payment.objects.all():
        key = (_day(p.created), p.merchant_id, p.currency, p.livemode)
        days[key]["payments_count"] += 1
        days[key]["payments_amount"] += p.amount.amount
        days[key]["authorized_count"] += p.authorized_at is not None
        days[key]["declined_count"] += p.status == "failed" and p.authorized_at is None
        days[key]["captured_count"] += p.amount_captured.amount > 0
        days[key]["captured_amount"] += p.amount_captured.amount
    for r in Refund.objects.filter(status="succeeded"):
        key = (_day(r.created), r.merchant_id, r.currency, r.livemode)
        days[key]["refunds_count"] += 1
        days[key]["refunds_amount"] += r.amount.amount
    for d in Dispute.objects.all():
        key = (_day(d.created), d.merchant_id, d.currency, d.livemode)
        days[key]["disputes_opened"] += 1
        days[key]["disputes_amount"] += d.amount.amount
        if d.status in ("won", "lost"):
            days[(_day(d.closed_at), d.merchant_id, d.currency, d.livemode)][f"disputes_{d.status}"] += 1
    return {key: {name: Decimal(figures[name]) for name in FIGURES} for key, figures in days.items()}


def stored_payment_days() -> dict[tuple, dict[str, Decimal]]:
    return {
        (row.day, row.merchant_id, row.currency, row.livemode): {
            name: Decimal(getattr(row, name)) for name in FIGURES
        }
        for row in PaymentDay.objects.all()
    }


def expected_delivery_days() -> dict[tuple, Counter]:
    days: dict[tuple, Counter] = defaultdict(Counter)
    for w in WebhookDelivery.objects.select_related("endpoint"):
        days[(_day(w.created), w.endpoint.livemode)][w.status] += 1
    return days


def stored_delivery_days() -> dict[tuple, Counter]:
    return {
        (row.day, row.livemode): Counter(
            {s: getattr(row, s) for s in ("succeeded", "failed", "pending", "abandoned") if getattr(row, s)}
        )
        for row in DeliveryDay.objects.all()
    }


def _backdate(model, obj, days: int, field: str = "created") -> None:
    """Move a row to an earlier day, as if the service had run then (only the timestamp moves)."""
    model.objects.filter(pk=obj.pk).update(**{field: getattr(obj, field) - timedelta(days=days)})


def _declined(merchant, amount: Money) -> None:
    with pytest.raises(CardError):
        payment_create(merchant=merchant, amount=amount, card=card(DECLINE_CARD))


@pytest.fixture
def activity(merchant_factory, settings):
    """Payments in EUR and JPY of two merchants over three days: captured, declined, in review,
    authorized only; refunds; disputes opened, won and lost; webhook deliveries."""
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    eur = merchant_factory(currency="EUR", name="Euro shop")
    jpy = merchant_factory(currency="JPY", name="Yen shop")
    webhook_endpoint_create(merchant_id=eur.public_id, url=UNREACHABLE_URL, enabled_events=["*"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        captured = [
            payment_create(merchant=eur, amount=Money(f"{n}0.25", "EUR"), card=card()) for n in (1, 2, 3, 4)
        ]
        _declined(eur, Money("9.99", "EUR"))
    payment_create(merchant=eur, amount=Money("15.00", "EUR"), card=card(REVIEW_CARD))
    manual = payment_create(merchant=jpy, amount=Money(1500, "JPY"), card=card(), capture_method="manual")
    payment_create(merchant=jpy, amount=Money(700, "JPY"), card=card(), capture_method="manual")
    payment_capture(payment=manual, amount=Money(1200, "JPY"))
    _declined(jpy, Money(300, "JPY"))
    refund_create(payment=captured[0], amount=Money("4.00", "EUR"))
    refund_create(payment=captured[1])
    won = dispute_open(payment_id=captured[2].public_id)
    lost = dispute_open(payment_id=captured[3].public_id)
    dispute_close(dispute_id=won.public_id, outcome="won", operator_id="1")
    dispute_close(dispute_id=lost.public_id, outcome="lost", operator_id="1")
    # Spread over days: a payment two days back, a refund of yesterday, a dispute opened
    # three days back and closed yesterday, a delivery of two days back.
    _backdate(Payment, captured[1], 2)
    _backdate(Refund, Refund.objects.get(payment=captured[0]), 1)
    _backdate(Dispute, Dispute.objects.get(pk=lost.pk), 3)
    _backdate(Dispute, Dispute.objects.get(pk=lost.pk), 1, field="closed_at")
    _backdate(WebhookDelivery, WebhookDelivery.objects.order_by("pk").first(), 2)
    assert WebhookDelivery.objects.exists()


def test_the_figures_equal_a_group_by_over_the_base_tables(activity):
    days_refresh()
    expected = expected_payment_days()
    # Every column is exercised: one the SQL forgot would read 0 on both sides otherwise.
    assert {name for figures in expected.values() for name, value in figures.items() if value} == set(FIGURES)
    assert stored_payment_days() == expected
    assert stored_delivery_days() == expected_delivery_days()
    assert len({key[0] for key in stored_payment_days()}) == 4  # today and three days back


def test_a_refresh_rewrites_the_days_and_adds_nothing_twice(activity):
    days_refresh()
    first = stored_payment_days()
    days_refresh()
    assert stored_payment_days() == first


def test_a_later_service_call_shows_after_the_next_refresh(activity):
    days_refresh()
    payment = Payment.objects.filter(status="succeeded", amount_refunded=0, disputed=False).first()
    refund_create(payment=payment, amount=Money(1, payment.currency))
    assert stored_payment_days() != expected_payment_days()
    days_refresh()
    assert stored_payment_days() == expected_payment_days()


def test_the_changing_days_reach_back_over_the_authorization_ttl(settings):
    settings.PAYSYS_AUTHORIZATION_TTL_DAYS = 7
    assert changing_days() == Span(first=today() - timedelta(days=7), last=today())


def test_the_backfill_command_fills_every_day_since_the_first_payment(activity, capsys):
    _backdate(Payment, Payment.objects.order_by("pk").last(), 40)
    days_refresh()
    assert stored_payment_days() != expected_payment_days()  # 40 days back is outside the window
    call_command("refresh_dashboard", "--all")
    assert stored_payment_days() == expected_payment_days()
    assert all_days().first == today() - timedelta(days=40)
    assert "refreshed 41 days" in capsys.readouterr().out


def test_the_command_refuses_a_span_that_ends_before_it_starts():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ends on or after"):
        call_command("refresh_dashboard", "--from", "2026-02-01", "--to", "2026-01-01")
