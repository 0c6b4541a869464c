"""Schemathesis over the live OpenAPI schema of a live server, with a real API key.

The schema at ``/v1/schema/`` is the contract merchants code against; schemathesis generates
requests from it (its default phases and checks: examples, coverage, fuzzing, stateful) and fails on any
response the schema does not describe: a 5xx, an undocumented status, a body or header that
does not match, a schema-valid request rejected or an invalid one accepted. Real objects exist
before the run (two wallets, a top-up, a transfer, its event) and their ids are given to schemathesis,
so ``/v1/accounts/{account_id}`` and friends are exercised on something real, not only 404s.

Schemathesis draws ``Idempotency-Key`` values from the schema, so two different generated bodies
often share a key (``"0"``), which the API rightly answers with 422. A correct client sends a
fresh key for each new request: a hook (``HOOKS``) replaces every *valid* generated key with a
unique one and leaves invalid ones alone, so the header's own validation is still fuzzed.

Three operations validate rules no schema can state: a card number's Luhn digit
(``POST /v1/payment_methods``, ``POST /v1/payments``, which also wants exactly one payment
source, and ``POST /v1/top_ups``, which wants one card source), an account's currency
(``POST /v1/transfers``, ``POST /v1/top_ups``) and what a refund may take (``POST /v1/refunds``:
no more than captured less refunded, and the merchant's balances must cover it). For those alone a 400 is an
accepted answer to a schema-valid request (``BUSINESS_RULE_OPERATIONS``); every other check,
and every other operation, runs as schemathesis ships it.

``KNOWN_GAPS`` lists, per operation, a check that currently fails there and why, so the check
is switched off for that operation only until its owner fixes the schema or the view; the entry
is then deleted. Everything not listed there runs every default check.

The example count is small to keep CI fast; ``SCHEMATHESIS_MAX_EXAMPLES`` raises it locally.
"""

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from moneyed import Money

from accounts.models import AccountKind, OwnerType
from accounts.services import account_open, transfer_create
from merchants.models import Merchant
from payments.top_ups import top_up_create
from paysys.events.models import Event
from tests.api.helpers import tenant_create

DEFAULT_MAX_EXAMPLES = 5
SEED = 20261123
SECURITY_SCHEME = "ApiKey"  # as named in the schema's components.securitySchemes
HOOKS_MODULE = "paysys_schemathesis_hooks"
BUSINESS_RULE_OPERATIONS = (
    "POST /v1/payment_methods",
    "POST /v1/payments",
    "POST /v1/refunds",
    "POST /v1/top_ups",
    "POST /v1/transfers",
)
# Checks switched off for one operation while its owner fixes a known defect (paysys/events/api):
KNOWN_GAPS = {
    # a blank item in "enabled_events" is schema-valid (items lack minLength) but refused
    "POST /v1/webhook_endpoints": "positive_data_acceptance",
    "PATCH /v1/webhook_endpoints/{endpoint_id}": "positive_data_acceptance",
    # a blank "webhook_endpoint" is schema-valid but refused by the view
    "POST /v1/events/{event_id}/resend": "positive_data_acceptance",
    # "amount" has no maximum in the schema, while the API refuses one above the configured maximum
    "POST /v1/payments/{payment_id}/capture": "positive_data_acceptance",
    # a NUL in a "metadata" value is schema-valid (the schema states no pattern) but refused
    "POST /v1/accounts": "positive_data_acceptance",
}
POSITIVE_STATUSES_WITH_400 = ("2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx")
HOOKS = """
import uuid

import schemathesis

MAX_KEY_LENGTH = 255


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and 1 <= len(key) <= MAX_KEY_LENGTH and key.isprintable():
        headers["Idempotency-Key"] = f"st-{uuid.uuid4().hex}"
        case.headers = headers
"""


def _objects_for(merchant_id: str) -> dict[str, str]:
    wallets = [
        account_open(
            owner_type=OwnerType.CUSTOMER, merchant_id=merchant_id, kind=AccountKind.WALLET, currency="EUR"
        )
        for _ in range(2)
    ]
    # Funded as money enters a wallet: a card top-up.
    top_up = top_up_create(
        merchant=Merchant.objects.get(public_id=merchant_id),
        account_id=wallets[0].public_id,
        amount=Money(Decimal("1000.00"), "EUR"),
        card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
    )
    transfer = transfer_create(
        merchant_id=merchant_id,
        from_account_id=wallets[0].public_id,
        to_account_id=wallets[1].public_id,
        amount=Money(Decimal("10.00"), "EUR"),
    )
    event = Event.objects.filter(merchant_id=merchant_id).order_by("-pk").first()
    ids = {
        "account_id": wallets[0].public_id,
        "transfer_id": transfer.public_id,
        "top_up_id": top_up.public_id,
    }
    if event is not None:
        ids["event_id"] = event.public_id
    return ids


def _st_command() -> list[str]:
    st = Path(sys.executable).with_name("st")
    return [str(st)] if st.exists() else [shutil.which("st") or "st"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_live_schema_passes_schemathesis_default_checks(
    live_server, transactional_db, e2e_settings, tmp_path
):
    tenant = tenant_create("Fuzz")
    ids = _objects_for(tenant.merchant_id)
    config = tmp_path / "schemathesis.toml"
    # The key goes through the schema's own security scheme (not a blanket header), so the
    # "missing Authorization" cases really go without it.
    config.write_text(
        f'[auth.openapi.{SECURITY_SCHEME}]\nbearer = "{tenant.secret}"\n\n[parameters]\n'
        + "".join(f'{name} = "{value}"\n' for name, value in ids.items())
        + "\n[[operations]]\n"
        + f"include-name = {json.dumps(list(BUSINESS_RULE_OPERATIONS))}\n"
        + f"checks.positive_data_acceptance.expected-statuses = {json.dumps(list(POSITIVE_STATUSES_WITH_400))}\n"
        + "".join(
            f"\n[[operations]]\ninclude-name = {json.dumps(name)}\nchecks.{check}.enabled = false\n"
            for name, check in KNOWN_GAPS.items()
        )
    )
    max_examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", str(DEFAULT_MAX_EXAMPLES))
    (tmp_path / f"{HOOKS_MODULE}.py").write_text(HOOKS)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS_MODULE, "PYTHONPATH": str(tmp_path)}

    result = subprocess.run(
        [
            *_st_command(),
            "--config-file", str(config),
            "--no-color",
            "run", f"{live_server.url}/v1/schema/",
            "--max-examples", max_examples,
            "--seed", str(SEED),
            "--workers", "1",
            "--report-dir", str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # its own cache folder (.schemathesis/) lands there, not in the work tree
        timeout=840,
    )  # fmt: skip

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    assert "Tested:" in output
