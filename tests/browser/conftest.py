"""Browser tests: Playwright drives Debian's Chromium, headless, against a live server.

``operator_page(role)`` logs an operator of that role in through the admin's real log-in form,
with password and the code their authenticator shows (computed from their TOTP device's key), and
returns the Playwright page on the dashboard, where log-in lands. ``screenshot(page, name)`` saves a PNG under
``var/screenshots/`` (git-ignored); every page opened is also shot as it is at the test's end.

No browser is downloaded: ``/usr/bin/chromium`` (Debian's ``chromium`` package; ``make test``
installs it when missing).
"""

import re
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.operators.people import PASSWORD, operator_create

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def chromium():
    """Chromium, for one test module: Playwright's sync API keeps an event loop in this thread
    while it runs, and Django refuses database queries beside one unless told the caller is
    synchronous (it is), so that is said only while Playwright runs."""
    if not CHROMIUM.exists():
        pytest.fail(f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture
def screenshot(request):
    """``screenshot(page, name)``: saves ``var/screenshots/<test>-<name>.png``; returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")

    def shoot(page, name: str) -> Path:
        path = SCREENSHOTS / f"{test}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot


@pytest.fixture
def operator_page(
    transactional_db, operator_roles, otp_required, live_server, chromium, screenshot, monkeypatch
):
    """``operator_page(role)``: a page of an operator in ``role`` logged in with the second factor."""
    # Playwright's sync API runs an event loop in this thread; Django refuses database queries
    # there unless told the caller knows they are synchronous (they are).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    contexts = []

    def log_in(role: str):
        user = operator_create(role, username=f"{role}-{len(contexts)}")
        device = TOTPDevice.objects.get(user=user)
        context = chromium.new_context(base_url=live_server.url, viewport=VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        page.fill("#id_otp_token", f"{totp.token():0{device.digits}d}")
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/dashboard/")
        return page

    yield log_in
    for number, context in enumerate(contexts):
        for page in context.pages:
            screenshot(page, f"end-{number}")
        context.close()
