"""A maker-checker adjustment by two operators in a real browser (Debian's Chromium, headless,
at /usr/bin/chromium: .ci/run installs it; no browser is downloaded).

One finance operator proposes with the add form and cannot approve it; a second approves it and
the ledger posts. Screenshots go to ``var/browser/`` (git-ignored). The database is prepared
before the browser starts and checked after it closes: Playwright's sync API runs an event loop,
inside which Django refuses ORM calls.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils.crypto import get_random_string
from playwright.sync_api import expect, sync_playwright

from accounts.models import AccountKind, Adjustment, JournalTransaction, OwnerType
from accounts.services import account_open, platform_account_get

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.timeout(180)]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "browser"
FINANCE = ("view_adjustment", "propose_adjustment", "approve_adjustment")
REASON = "ticket 77: fee charged twice"


def _finance_operator(username: str, password: str):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", password, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="accounts", codename__in=FINANCE)
    )
    return user


def _login(browser, base_url: str, username: str, password: str):
    page = browser.new_context().new_page()
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")
    return page


def _decide(page, base_url: str, adjustment_id: str, action: str, reason: str) -> None:
    page.goto(f"{base_url}/admin/accounts/adjustment/")
    page.locator("tr", has_text=adjustment_id).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.fill("textarea[name=reason]", reason)
    page.click("input[type=submit]")


def test_two_operators_get_an_adjustment_approved(live_server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    password = get_random_string(20)
    maker = _finance_operator("maker", password)
    checker = _finance_operator("checker", password)
    platform = platform_account_get(kind=AccountKind.ADJUSTMENTS, currency="EUR")
    wallet = account_open(
        owner_type=OwnerType.CUSTOMER,
        merchant_id="mer_browser0000000000000001",
        kind=AccountKind.WALLET,
        currency="EUR",
    )
    base = live_server.url

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = _login(browser, base, "maker", password)
        page.goto(f"{base}/admin/accounts/adjustment/add/")
        page.fill("#id_debit_account", str(platform.pk))
        page.fill("#id_credit_account", str(wallet.pk))
        page.fill("#id_amount_0", "3.00")
        page.select_option("#id_amount_1", "EUR")
        page.fill("#id_reason", REASON)
        page.click("input[name=_save]")
        page.wait_for_url(f"{base}/admin/accounts/adjustment/")
        page.screenshot(path=ARTIFACTS / "adjustment-1-proposed.png", full_page=True)
        adjustment_id = page.locator("td.field-public_id, th.field-public_id").first.inner_text().strip()

        _decide(page, base, adjustment_id, "approve", "my own, approved by me")
        expect(page.locator(".messagelist .error")).to_contain_text("another operator must approve")
        page.screenshot(path=ARTIFACTS / "adjustment-2-own-approval-refused.png", full_page=True)

        page = _login(browser, base, "checker", password)
        _decide(page, base, adjustment_id, "approve", "checked against the ticket")
        expect(page.locator(".messagelist .success")).to_contain_text("Approved and posted: 1.")
        page.screenshot(path=ARTIFACTS / "adjustment-3-approved.png", full_page=True)
        browser.close()

    adjustment = Adjustment.objects.get(public_id=adjustment_id)
    assert (adjustment.status, adjustment.proposed_by_id, adjustment.decided_by_id) == (
        "approved",
        maker.pk,
        checker.pk,
    )
    assert adjustment.amount.amount == Decimal("3.00") and adjustment.reason == REASON
    entries = JournalTransaction.objects.get(reference=f"adjustment:{adjustment_id}").entries
    assert set(entries.values_list("account_id", "amount")) == {
        (platform.pk, Decimal("-3.000")),
        (wallet.pk, Decimal("3.000")),
    }
