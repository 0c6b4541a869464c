"""An operator without an authenticator enrols one in the browser: scans (here: reads the key
under the QR code), confirms a first code, and from then on logs in with it."""

from base64 import b32decode

from django.contrib.auth import get_user_model
from django_otp.oath import TOTP

from tests.operators.people import PASSWORD


def code_for(key_base32: str, *, drift: int = 0) -> str:
    return f"{TOTP(b32decode(key_base32), drift=drift).token():06d}"


def test_a_new_operator_enrols_an_authenticator_then_logs_in_with_it(
    chromium, transactional_db, otp_required, live_server, screenshot
):
    get_user_model().objects.create_user("newcomer", "n@example.com", PASSWORD, is_staff=True)
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto("/admin/")
    screenshot(page, "login")
    page.fill("#id_username", "newcomer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/otp/enrol/")
    assert page.locator("[data-testid=otp-qr] svg").count() == 1
    key = page.locator("[data-testid=otp-key]").inner_text()
    screenshot(page, "enrol")
    page.fill("#id_code", code_for(key))
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert "Your authenticator is set up" in page.locator(".messagelist").inner_text()
    screenshot(page, "enrolled")

    # A new browser: the password alone is not enough any more; with the code it is.
    context.close()
    context = chromium.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "newcomer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    assert page.locator(".errornote").count() >= 1
    screenshot(page, "code-required")
    page.fill("#id_password", PASSWORD)
    # A code is good once: the next period's (one period of clock drift is accepted).
    page.fill("#id_otp_token", code_for(key, drift=1))
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/dashboard/")  # where log-in lands
    context.close()
