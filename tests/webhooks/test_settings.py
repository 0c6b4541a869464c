"""Webhook settings that production refuses: the SSRF escape hatch is for development and tests."""

import subprocess
import sys
from pathlib import Path

import pytest

from paysys.events.ssrf import WebhookUrlBlockedError, url_resolve
from tests.production_env import production_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("value", ["true", "1", "on"])
def test_production_refuses_to_start_with_private_webhook_urls_allowed(value):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=production_env(PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS=value),
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS must not be set in production" in result.stderr


@pytest.mark.timeout(120)
def test_production_starts_with_private_webhook_urls_explicitly_refused():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=production_env(PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS="false"),
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ssrf_guard_ignores_the_setting_when_production_settings_are_changed_at_run_time(settings):
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert url_resolve("http://127.0.0.1:8080/hook").ip.is_loopback  # test: allowed

    settings.PAYSYS_ENV = "production"
    with pytest.raises(WebhookUrlBlockedError):
        url_resolve("http://127.0.0.1:8080/hook")
