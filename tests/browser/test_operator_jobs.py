"""Risk and finance jobs end to end in a real browser (``operator_page``: Debian's Chromium, the
admin's log-in with the second factor), each as the role allowed to do it: a dispute opened,
answered with evidence and won; an account frozen and unfrozen; a payout held and released; the
ledger's health checked and run now."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from moneyed import Money
from playwright.sync_api import expect

from accounts.models import AccountKind, JournalTransaction, LedgerAccount
from merchants.services import merchant_activate, merchant_onboard
from payments.models import Dispute
from payments.services import payment_create
from paysys.audit.models import AuditEvent
from paysys.operators.roles import FINANCE, RISK, SUPPORT
from settlements.models import Payout
from settlements.services import settlement_run
from tests.payments.conftest import card

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def captured(transactional_db):
    merchant = merchant_onboard(name="Corner Shop", email="shop@example.com", default_currency="EUR")
    merchant = merchant_activate(merchant_id=merchant.public_id)
    return payment_create(merchant=merchant, amount=Money("40.00", "EUR"), card=card())


def _act(page, changelist: str, row_text: str, action: str, reason: str) -> None:
    """Select the row naming ``row_text``, run ``action`` and confirm it with ``reason``."""
    page.goto(changelist)
    page.locator("#result_list tr", has_text=row_text).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    expect(page.locator("body.action-confirmation")).to_be_visible()
    page.fill("textarea[name=reason]", reason)
    page.click("input[type=submit]")


def test_risk_opens_a_dispute_records_evidence_and_wins_it(operator_page, screenshot, captured):
    page = operator_page(RISK)
    page.goto(f"/admin/payments/payment/{captured.pk}/change/")
    page.click("button[data-action=open_dispute]")
    page.fill("textarea[name=reason]", "cardholder says not received")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("Disputed")
    dispute = Dispute.objects.get(payment=captured)

    page.goto(f"/admin/payments/dispute/{dispute.pk}/change/")
    page.click("#record-evidence")
    page.fill("#id_evidence", "Signed delivery note, tracking 1Z999AA10123456784")
    page.check("#id_submit_for_review")
    page.fill("#id_reason", "merchant sent proof of delivery")
    screenshot(page, "evidence-form")
    page.click("#evidence-form input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("submitted for review")
    dispute.refresh_from_db()
    assert dispute.status == "under_review"

    _act(page, "/admin/payments/dispute/", dispute.public_id, "close_won", "network accepted the evidence")
    expect(page.locator(".messagelist .success")).to_contain_text("Won: 1.")
    expect(page.locator("#result_list tr", has_text=dispute.public_id)).to_contain_text(
        re.compile("won", re.I)
    )
    screenshot(page, "dispute-won")

    # The payment's story tells it, the ledger shows the money coming back.
    page.goto(f"/admin/payments/payment/{captured.pk}/change/")
    story = page.inner_text("#payment-story")
    assert "dispute.won" in story and "network accepted the evidence" in story
    screenshot(page, "story")
    won = JournalTransaction.objects.get(reference=f"dispute_won:{dispute.public_id}")
    page.goto(f"/admin/accounts/entry/?payment={captured.public_id}")
    expect(page.locator("#result_list")).to_contain_text(won.public_id)
    screenshot(page, "ledger-entries")
    dispute.refresh_from_db()
    assert dispute.status == "won" and dispute.evidence_text.startswith("Signed delivery note")


def test_risk_freezes_and_unfreezes_an_account(operator_page, screenshot, captured):
    account = LedgerAccount.objects.get(
        merchant_id=captured.merchant.public_id, kind=AccountKind.PENDING, livemode=False
    )
    changelist = f"/admin/accounts/ledgeraccount/?q={account.public_id}"
    page = operator_page(RISK)

    _act(page, changelist, account.public_id, "freeze", "card testing through this merchant")
    expect(page.locator(".messagelist .success")).to_contain_text("Frozen: 1.")
    page.goto(changelist)
    expect(page.locator("#result_list tr", has_text=account.public_id)).to_contain_text(
        re.compile("frozen", re.I)
    )
    screenshot(page, "frozen")
    assert LedgerAccount.objects.get(pk=account.pk).status == "frozen"

    _act(page, changelist, account.public_id, "unfreeze", "merchant cleared by the review")
    expect(page.locator(".messagelist .success")).to_contain_text("Unfrozen: 1.")
    page.goto(changelist)
    expect(page.locator("#result_list tr", has_text=account.public_id)).to_contain_text(
        re.compile("open", re.I)
    )
    screenshot(page, "unfrozen")
    assert LedgerAccount.objects.get(pk=account.pk).status == "open"
    reasons = set(
        AuditEvent.objects.filter(object_id=account.public_id, actor_type="operator").values_list(
            "metadata__reason", flat=True
        )
    )
    assert reasons == {"card testing through this merchant", "merchant cleared by the review"}


def test_finance_holds_and_releases_a_payout(operator_page, screenshot, captured):
    settlement_run(date=timezone.now().date() + timedelta(days=1))
    payout = Payout.objects.get(merchant=captured.merchant)
    assert payout.status == "pending"
    page = operator_page(FINANCE)

    _act(page, "/admin/settlements/payout/", payout.public_id, "hold_payouts", "KYC documents expired")
    expect(page.locator(".messagelist .success")).to_contain_text("Merchants' payouts held: 1.")
    page.goto("/admin/settlements/payout/")
    expect(page.locator("#result_list tr", has_text=payout.public_id)).to_contain_text(
        re.compile("on.hold", re.I)
    )
    screenshot(page, "held")
    assert Payout.objects.get(pk=payout.pk).status == "on_hold"

    _act(page, "/admin/settlements/payout/", payout.public_id, "release_payouts", "new KYC documents checked")
    expect(page.locator(".messagelist .success")).to_contain_text("Merchants' payouts released: 1.")
    page.goto(f"/admin/settlements/payout/?q={payout.public_id}")
    row = page.locator("#result_list tr", has_text=payout.public_id)
    expect(row).not_to_contain_text(re.compile("on.hold", re.I))
    screenshot(page, "released")
    assert Payout.objects.get(pk=payout.pk).status != "on_hold"


def test_finance_runs_the_ledger_health_checks_now_support_only_reads(operator_page, screenshot, captured):
    page = operator_page(FINANCE)
    page.goto("/admin/")
    page.click("text=Ledger health")
    expect(page.locator("#health-ledger")).to_contain_text("Never run")
    page.click("#health-ledger input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("Ledger verification: OK.")
    expect(page.locator("#health-ledger .health-status")).to_have_text("OK")
    page.click("#health-audit input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("Audit log verification: OK.")
    expect(page.locator("#health-audit .health-status")).to_have_text("OK")
    expect(page.locator("#health-audit")).to_contain_text("Failures")
    screenshot(page, "ran")

    support = operator_page(SUPPORT)
    support.goto("/admin/")
    support.click("text=Ledger health")
    expect(support.locator("#health-ledger .health-status")).to_have_text("OK")
    assert support.locator("#health-ledger input[type=submit]").count() == 0
    assert support.locator("#health-audit input[type=submit]").count() == 0
    expect(support.locator("#health-ledger")).to_contain_text("needs the permission")
    screenshot(support, "support-reads")
