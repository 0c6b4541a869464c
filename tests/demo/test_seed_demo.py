"""manage.py seed_demo --days: a history through the services, written once, that verifies."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Entry, JournalTransaction
from demo.history import HISTORY_MARKER
from demo.selectors import demo_history_counts
from merchants.models import Merchant
from merchants.services import DEMO_MERCHANT_EMAIL
from payments.models import Payment
from paysys.events.models import Event, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

DAYS = 16  # long enough for a failed payout (10 days ago) and disputes won and lost


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _verify(command: str) -> str:
    out = StringIO()
    call_command(command, stdout=out)  # raises CommandError when something does not hold
    return out.getvalue()


@pytest.fixture
def private_webhook_urls(settings):
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def seeded(private_webhook_urls):
    printed = _seed("--days", str(DAYS), "--payments-per-day", "6")
    merchant = Merchant.objects.get(email=DEMO_MERCHANT_EMAIL)
    return merchant, printed


def test_the_history_holds_every_outcome_the_dashboard_shows_and_verifies(seeded):
    merchant, printed = seeded
    counts = demo_history_counts(merchant_id=merchant.public_id)
    assert counts["payments"].get("succeeded", 0) > 0
    assert counts["payments"].get("failed", 0) > 0
    assert counts["payments"].get("requires_review", 0) > 0  # the last days' queue
    assert counts["refunds"].get("succeeded", 0) > 0
    for status in ("won", "lost", "needs_response"):
        assert counts["disputes"].get(status, 0) > 0, status
    assert counts["settlements"].get("completed", 0) > 0
    for status in ("paid", "failed", "on_hold"):
        assert counts["payouts"].get(status, 0) > 0, status
    assert (
        counts["webhook deliveries"].get("succeeded", 0) > counts["webhook deliveries"].get("failed", 0) > 0
    )
    erp = WebhookEndpoint.objects.get(merchant_id=merchant.public_id, description="ERP sync")
    assert erp.failing_since is not None and erp.status == WebhookEndpoint.Status.ENABLED
    assert f"{DAYS} days written" in printed
    assert merchant.metadata[HISTORY_MARKER] == (timezone.now().date() - timedelta(days=1)).isoformat()
    assert "ledger OK" in _verify("verify_ledger")
    assert "audit log OK" in _verify("verify_audit")


def test_the_history_is_spread_over_the_past_days_and_a_second_run_adds_nothing(seeded):
    merchant, _ = seeded
    today = timezone.now().date()
    payment_days = {
        d.date() for d in Payment.objects.filter(merchant=merchant).values_list("created", flat=True)
    }
    assert payment_days == {today - timedelta(days=n) for n in range(1, DAYS + 1)}
    # The captures' postings and events carry the payment's time, not the seeding's.
    first = Payment.objects.filter(merchant=merchant, status="succeeded").order_by("created").first()
    capture = JournalTransaction.objects.get(reference=f"capture:{first.public_id}")
    assert capture.created.date() == first.created.date() < today
    assert {e.created.date() for e in Entry.objects.filter(transaction=capture)} == {capture.created.date()}
    captured = Event.objects.get(type="payment.captured", object_id=first.public_id)
    assert captured.created.date() == first.created.date()
    assert WebhookDelivery.objects.filter(event=captured, status="succeeded").exists()

    before = (
        demo_history_counts(merchant_id=merchant.public_id),
        Entry.objects.count(),
        Event.objects.count(),
    )
    printed = _seed("--days", str(DAYS))
    after = (
        demo_history_counts(merchant_id=merchant.public_id),
        Entry.objects.count(),
        Event.objects.count(),
    )
    assert after == before
    assert "nothing to add" in printed


def test_without_private_webhook_urls_the_history_has_no_webhooks_and_says_so(settings):
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    printed = _seed("--days", "2", "--payments-per-day", "6")
    merchant = Merchant.objects.get(email=DEMO_MERCHANT_EMAIL)
    assert "no webhooks" in printed
    assert not WebhookEndpoint.objects.filter(merchant_id=merchant.public_id).exists()
    assert Payment.objects.filter(merchant=merchant).exists()


def test_it_refuses_to_run_in_production_and_bad_arguments(settings):
    with pytest.raises(CommandError, match="--days is between"):
        _seed("--days", "-1")
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="does not run in production"):
        _seed("--days", "3")
    assert not Merchant.objects.filter(email=DEMO_MERCHANT_EMAIL).exists()
