"""An admin operator onboards a merchant and creates its API key in a real browser
(``operator_page``: Debian's Chromium, the admin's log-in with the second factor): the secret is
on the page that answers the creation, and on no page after it, nor on going back to it."""

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from merchants.models import ApiKey, Merchant
from paysys.audit.models import AuditEvent
from paysys.operators.roles import ADMIN

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_admin_onboards_a_merchant_then_creates_a_key_seen_once(operator_page, screenshot):
    page = operator_page(ADMIN)
    page.goto("/admin/merchants/merchant/")
    page.get_by_role("link", name=re.compile("Add merchant", re.IGNORECASE)).click()
    page.fill("#id_name", "Corner Shop")
    page.fill("#id_email", "corner@example.com")
    page.fill("#id_default_currency", "EUR")
    page.fill("#id_reason", "contract 42 signed")
    screenshot(page, "onboard-form")
    page.get_by_role("button", name="Onboard").click()

    merchant = Merchant.objects.get(email="corner@example.com")
    expect(page.locator(".messagelist")).to_contain_text(f"Merchant {merchant.public_id} onboarded")
    page.click("#create-api-key")
    expect(page.locator("#id_merchant")).to_have_value(merchant.public_id)
    page.select_option("#id_scope", "read")
    page.fill("#id_name", "reporting")
    page.fill("#id_reason", "merchant asked for a reporting key")
    page.get_by_role("button", name="Create the key").click()

    key = ApiKey.objects.get(merchant=merchant)
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith(key.prefix)
    screenshot(page, "secret-shown-once")
    row = AuditEvent.objects.get(event_type="api_key.created", object_id=key.prefix)
    assert (row.actor_type, row.metadata["reason"]) == ("operator", "merchant asked for a reporting key")

    page.get_by_role("link", name="The key").click()
    expect(page.locator("#content")).to_contain_text(key.prefix)
    assert secret not in page.content()
    # Back to the answer that showed it: the browser kept no copy (no-store) and resubmits nothing.
    with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
        page.go_back()
    expect(page.locator("html")).not_to_contain_text(secret)
    assert ApiKey.objects.filter(merchant=merchant).count() == 1
    page.goto(f"/admin/merchants/merchant/{merchant.pk}/change/")
    expect(page.locator("#content")).to_contain_text(key.prefix)
    assert secret not in page.content()
    screenshot(page, "merchant-after")
