"""Production's log-in settings cannot be turned off from the environment."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.production_env import production_env

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'otp': s.PAYSYS_ADMIN_OTP_REQUIRED, 'axes': s.AXES_ENABLED, 'secure': s.SESSION_COOKIE_SECURE,"
    "'httponly': s.SESSION_COOKIE_HTTPONLY, 'csrf_secure': s.CSRF_COOKIE_SECURE,"
    "'idle': s.SESSION_COOKIE_AGE, 'every': s.SESSION_SAVE_EVERY_REQUEST}))"
)


@pytest.mark.timeout(120)
def test_production_always_asks_the_second_factor_and_locks_out():
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", PRINT],
        cwd=ROOT,
        env=production_env(
            PAYSYS_ADMIN_OTP_REQUIRED="false", AXES_ENABLED="false", DATABASE_URL="postgres://u@db/paysys"
        ),
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "otp": True,
        "axes": True,
        "secure": True,
        "httponly": True,
        "csrf_secure": True,
        "idle": 900,
        "every": True,
    }
