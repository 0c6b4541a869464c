"""A maker-checker adjustment by two finance operators in a real browser (``operator_page``:
Debian's Chromium, the admin's log-in with the second factor).

One proposes with the add form and cannot approve it; a second approves it and the ledger posts.
"""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import AccountKind, Adjustment, JournalTransaction, OwnerType
from accounts.services import account_open, platform_account_get
from paysys.operators.roles import FINANCE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

REASON = "ticket 77: fee charged twice"


def _decide(page, adjustment_id: str, action: str, reason: str) -> None:
    page.goto("/admin/accounts/adjustment/")
    page.locator("tr", has_text=adjustment_id).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.fill("textarea[name=reason]", reason)
    page.click("input[type=submit]")


def test_two_finance_operators_get_an_adjustment_approved(operator_page, screenshot):
    platform = platform_account_get(kind=AccountKind.ADJUSTMENTS, currency="EUR")
    wallet = account_open(
        owner_type=OwnerType.CUSTOMER,
        merchant_id="mer_browser0000000000000001",
        kind=AccountKind.WALLET,
        currency="EUR",
    )

    maker = operator_page(FINANCE)
    maker.goto("/admin/accounts/adjustment/add/")
    maker.fill("#id_debit_account", str(platform.pk))
    maker.fill("#id_credit_account", str(wallet.pk))
    maker.fill("#id_amount_0", "3.00")
    maker.select_option("#id_amount_1", "EUR")
    maker.fill("#id_reason", REASON)
    maker.click("input[name=_save]")
    expect(maker.locator(".messagelist .success")).to_be_visible()
    screenshot(maker, "proposed")
    adjustment = Adjustment.objects.get()
    assert adjustment.status == "proposed"

    _decide(maker, adjustment.public_id, "approve", "my own, approved by me")
    expect(maker.locator(".messagelist .error")).to_contain_text("another operator must approve")
    screenshot(maker, "own-approval-refused")
    adjustment.refresh_from_db()
    assert adjustment.status == "proposed"

    checker = operator_page(FINANCE)
    _decide(checker, adjustment.public_id, "approve", "checked against the ticket")
    expect(checker.locator(".messagelist .success")).to_contain_text("Approved and posted: 1.")
    screenshot(checker, "approved")

    adjustment.refresh_from_db()
    assert adjustment.status == "approved" and adjustment.decided_by_id != adjustment.proposed_by_id
    assert adjustment.amount.amount == Decimal("3.00") and adjustment.reason == REASON
    entries = JournalTransaction.objects.get(reference=f"adjustment:{adjustment.public_id}").entries
    assert set(entries.values_list("account_id", "amount")) == {
        (platform.pk, Decimal("-3.000")),
        (wallet.pk, Decimal("3.000")),
    }
