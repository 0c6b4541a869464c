"""Log lines are JSON, carry the request and correlation ids, and never carry a secret."""

import io
import json
import logging
import os
import secrets
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def console_output():
    """Swap the configured console handler's stream: the real filters and formatter stay."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def _lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


@pytest.mark.django_db
def test_a_request_writes_one_json_access_line_with_both_ids(client):
    with console_output() as output:
        response = client.get("/healthz?verbose=1", HTTP_X_CORRELATION_ID="cor_from_the_caller")
    access = [line for line in _lines(output) if line["logger"] == "paysys.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == response["Request-Id"]
    assert line["request_id"].startswith("req_")
    assert line["correlation_id"] == "cor_from_the_caller"
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"  # the query string is never logged
    assert line["status"] == 200
    assert line["level"] == "INFO"
    assert line["time"].endswith("+00:00")


@pytest.mark.django_db
def test_without_a_correlation_header_the_request_id_is_the_correlation_id(client):
    with console_output() as output:
        response = client.get("/healthz")
    (line,) = [line for line in _lines(output) if line["logger"] == "paysys.access"]
    assert line["correlation_id"] == line["request_id"] == response["Request-Id"]


@pytest.mark.django_db
def test_django_error_lines_carry_the_request_id_too(client):
    with console_output() as output:
        response = client.get("/no-such-page-anywhere")
    errors = [line for line in _lines(output) if line["logger"] == "django.request"]
    assert response.status_code == 404
    assert errors and errors[0]["request_id"] == response["Request-Id"]
    assert errors[0]["request"] == "GET /no-such-page-anywhere"


@pytest.mark.django_db
def test_the_authorization_header_never_reaches_the_logs(client):
    secret = "sk_test_" + secrets.token_hex(16)
    with console_output() as output:
        client.get("/no-such-page-anywhere", HTTP_AUTHORIZATION=f"Bearer {secret}")
        client.get("/v1/balance", HTTP_AUTHORIZATION=f"Bearer {secret}")
        client.post(
            "/v1/transfers", data="{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
        )
    assert output.getvalue()
    assert secret not in output.getvalue()


def test_secrets_in_messages_arguments_and_extras_are_redacted():
    key, whsec = "sk_live_" + secrets.token_hex(12), "whsec_" + secrets.token_hex(12)
    with console_output() as output:
        logging.getLogger("paysys.test").warning(
            "calling with %s and Bearer %s", key, "tok123", extra={"endpoint_secret": whsec}
        )
    (line,) = _lines(output)
    text = json.dumps(line)
    assert key not in text and whsec not in text and "tok123" not in text
    assert line["endpoint_secret"] == "[redacted]"


@pytest.mark.timeout(60)
def test_production_settings_log_json_lines_too():
    script = (
        "import django, logging; django.setup();"
        "from paysys.correlation import correlation_scope;"
        "ctx = correlation_scope('cor_prod', 'req_prod'); ctx.__enter__();"
        "logging.getLogger('paysys.test').info('hello')"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "paysys.settings",
        "PAYSYS_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "paysys.example.com",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello"
    assert (line["request_id"], line["correlation_id"]) == ("req_prod", "cor_prod")
