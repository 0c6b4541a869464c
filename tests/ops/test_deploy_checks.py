"""`manage.py check --deploy` is clean with the production settings and a strong key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.production_env import production_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_check_deploy_reports_no_issue_in_production():
    env = production_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


@pytest.mark.timeout(60)
def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "PAYSYS_ENV": "production", "ALLOWED_HOSTS": "paysys.example.com"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=50
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _manage_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=50
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"DEBUG": "true"}, "DEBUG"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "   "}, "SECRET_KEY"),
        ({"SECRET_KEY": "dev-only-insecure-secret-key-change-me-in-production"}, "SECRET_KEY"),
        ({"PAYSYS_API_KEY_PEPPER": ""}, "PAYSYS_API_KEY_PEPPER"),
    ],
    ids=["debug-on", "empty-secret-key", "blank-secret-key", "development-secret-key", "empty-pepper"],
)
def test_production_refuses_to_start_with_an_unsafe_setting(override, named):
    result = _manage_check(production_env(**override))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


@pytest.mark.timeout(60)
def test_production_starts_with_safe_settings():
    result = _manage_check(production_env())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("database_url", "complaint"),
    [
        (None, "DATABASE_URL must be set in production"),  # never the embedded server of make run
        ("sqlite:////tmp/paysys.sqlite3", "must name a PostgreSQL database"),  # PostgreSQL only
    ],
)
def test_production_needs_a_postgresql_database_url(database_url, complaint):
    env = production_env()
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    result = _manage_check(env)
    assert result.returncode != 0
    assert complaint in result.stderr
