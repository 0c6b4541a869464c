"""No webhook secret, API key secret or card number rests in the database or a log line.

Every column of every table is read back (``bytea`` decoded, so a stored response body counts
as the text it holds) after the requests that show a secret or carry a card number were sent
with an ``Idempotency-Key``, whose responses the idempotency table keeps for 24 hours.
"""

import json
import logging
import re

import pytest
from django.db import connection
from rest_framework.test import APIClient

from merchants.services import api_key_create, merchant_activate, merchant_onboard
from paysys.audit.models import AuditEvent
from paysys.audit.services import audit_idempotency_key_digest

PUBLIC_URL = "https://93.184.215.14/hooks"  # a public address literal: no DNS needed
CARDS = ("4242424242424242", "5555555555554444", "4000000000003220")
# A whole secret; an API key's 16-character prefix (``sk_test_`` + 8) is meant to be stored.
SECRET_PATTERNS = (
    re.compile(r"whsec_[A-Za-z0-9+/=]{16,}"),
    re.compile(r"sk_(?:test|live)_[A-Za-z0-9]{40}"),
)


def _every_stored_value() -> str:
    """Every non-null value of every column of every table, as text."""
    values = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        columns = cursor.fetchall()
        for table, column, data_type in columns:
            cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
            for (value,) in cursor.fetchall():
                if data_type == "bytea":
                    values.append(bytes(value).decode("latin-1"))
                elif isinstance(value, dict | list):
                    values.append(json.dumps(value))
                else:
                    values.append(str(value))
    return "\n".join(values)


def _merchant_client() -> tuple[APIClient, str, str]:
    merchant = merchant_activate(
        merchant_id=merchant_onboard(
            name="Vault", email="vault@example.com", default_currency="EUR"
        ).public_id
    )
    _key, secret = api_key_create(merchant_id=merchant.public_id)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, merchant.public_id, secret


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_no_secret_or_card_number_rests_in_the_database_or_the_logs(settings, caplog):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    caplog.set_level(logging.DEBUG)
    client, merchant_id, api_secret = _merchant_client()
    shown = [api_secret, api_key_create(merchant_id=merchant_id, scope="read")[1]]

    created = client.post(
        "/v1/webhook_endpoints",
        {"url": PUBLIC_URL, "enabled_events": ["*"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="endpoint-1",
    )
    assert created.status_code == 201, created.content
    endpoint = created.json()
    rotated = client.post(
        f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret",
        format="json",
        HTTP_IDEMPOTENCY_KEY="rotate-1",
    )
    assert rotated.status_code == 200, rotated.content
    shown += [endpoint["secret"], rotated.json()["secret"]]
    for index, number in enumerate(CARDS):
        card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        body = {"amount": 1000, "currency": "eur", "payment_method_data": {"type": "card", "card": card}}
        paid = client.post("/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY=f"pay-{index}")
        assert paid.status_code in {201, 402}, paid.content

    # The replays still show the secrets, byte for byte.
    replayed = client.post(
        "/v1/webhook_endpoints",
        {"url": PUBLIC_URL, "enabled_events": ["*"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="endpoint-1",
    )
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.content == created.content

    stored = _every_stored_value()
    logged = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    assert "endpoint-1" in stored and endpoint["id"] in stored  # the scan reads the tables written
    for secret in shown:
        assert secret not in stored, f"a secret rests in the database: {secret[:12]}…"
        assert secret not in logged, f"a secret was logged: {secret[:12]}…"
    for pattern in SECRET_PATTERNS:
        found = pattern.search(stored)
        assert found is None, f"a secret rests in the database: {found.group()[:12]}…"
    for number in CARDS:
        assert number not in stored, f"a card number rests in the database: …{number[-4:]}"
        assert number not in logged, f"a card number was logged: …{number[-4:]}"


@pytest.mark.django_db
def test_an_idempotency_key_reaches_the_audit_log_only_as_its_keyed_digest(settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    client, _merchant_id, _secret = _merchant_client()
    key = "4242424242424242-customer@example.com"  # a client may put anything in the header
    created = client.post("/v1/accounts", {"currency": "eur"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert created.status_code == 201, created.content
    row = AuditEvent.objects.get(object_id=created.json()["id"])
    assert row.idempotency_key == audit_idempotency_key_digest(key)
    assert key not in row.idempotency_key
    settings.SECRET_KEY = "another-key"  # keyed: the digest cannot be recomputed from the key alone
    assert audit_idempotency_key_digest(key) != row.idempotency_key
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditevent t WHERE t::text LIKE %s", [f"%{key}%"])
        assert cursor.fetchone() == (0,)
