"""Schemathesis over the live OpenAPI schema of a live server, with a real API key.

The schema at ``/v1/schema/`` is the contract merchants code against; schemathesis generates
requests from it in both modes, valid and invalid (``--mode all``), runs every phase
(examples, coverage, fuzzing, stateful) and every check it has (``--checks all``), and fails on
any response the schema does not describe: a 5xx, an undocumented status, a body or header that
does not match, a schema-valid request rejected or an invalid one accepted, a resource still
there after its DELETE, a request accepted without its key. Real objects exist before the run
(wallets, a card top-up, a transfer and its event, payments in each state, a refund, a dispute, a webhook
endpoint) and their ids are given to schemathesis, so ``/v1/payments/{payment_id}/capture``
and friends are exercised on something real, not only 404s.

Schemathesis draws ``Idempotency-Key`` values from the schema, so two different generated bodies
often share a key (``"0"``), which the API rightly answers with 422. A correct client sends a
fresh key for each new request: a hook (``HOOKS``) replaces every *valid* generated key with a
unique one and leaves invalid ones alone, so the header's own validation is still fuzzed.

Some operations validate rules that API.md fixes and no schema can state; for those alone a
400 is an accepted answer to a schema-valid request (``BUSINESS_RULE_OPERATIONS``, each with its
rule). Every other check, and every other operation, runs as schemathesis ships it.

The example count per operation is small so the run takes a few minutes on two cores;
``SCHEMATHESIS_MAX_EXAMPLES`` raises it locally.
"""

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from moneyed import Money

from accounts.models import AccountKind, OwnerType
from accounts.services import account_open, transfer_create
from merchants.models import Merchant
from payments.models import Dispute
from payments.services import dispute_open
from payments.top_ups import top_up_create
from paysys.events.models import Event
from tests.api.helpers import tenant_create

DEFAULT_MAX_EXAMPLES = 5
RUN_TIMEOUT_SECONDS = 420
SEED = 20261123
SECURITY_SCHEME = "ApiKey"  # as named in the schema's components.securitySchemes
HOOKS_MODULE = "paysys_schemathesis_hooks"
# Operations where a schema-valid request can break a rule of API.md that JSON Schema cannot
# state, answered with a 400 naming the param:
BUSINESS_RULE_OPERATIONS = {
    # a card number's Luhn digit; an expiry in the past
    "POST /v1/payment_methods": "card",
    # the above; exactly one payment source; a split's amount within the payment's currency limit
    "POST /v1/payments": "card, one source",
    # both accounts the merchant's and in the transfer's currency; their funds suffice
    "POST /v1/transfers": "accounts and funds",
    # the above (one card source); the wallet the merchant's and in the top-up's currency
    "POST /v1/top_ups": "card, one source, the wallet",
    # at most what was captured and not yet refunded (400 amount_too_large)
    "POST /v1/refunds": "amount_too_large",
    "POST /v1/payments/{payment_id}/capture": "amount_too_large",
    # a webhook URL must be http(s) and resolve to public addresses (SSRF guard)
    "POST /v1/webhook_endpoints": "url",
    "PATCH /v1/webhook_endpoints/{endpoint_id}": "url",
}
POSITIVE_STATUSES_WITH_400 = ("2xx", "3xx", "400", "401", "403", "404", "409", "429")
DELETE_ENDPOINT_OPERATION = "DELETE /v1/webhook_endpoints/{endpoint_id}"
DELETED_ENDPOINT = "deleted_endpoint_id"  # the one DELETE_ENDPOINT_OPERATION acts on
WEBHOOK_URL = "http://127.0.0.1:9/paysys-schemathesis"  # nothing listens: deliveries just fail
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
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


def _objects_for(merchant_id: str, api: httpx.Client) -> dict[str, str]:
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

    def created(path: str, body: dict) -> str:
        response = api.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    payment = {"amount": 5000, "currency": "eur", "payment_method_data": {"type": "card", "card": CARD}}
    captured = created("/v1/payments", payment)
    disputed = created("/v1/payments", payment)
    dispute_open(payment_id=disputed)
    ids = {
        "account_id": wallets[0].public_id,
        "transfer_id": transfer.public_id,
        # capture, cancel and confirm find one payment in the state they act on, once
        "payment_id": created("/v1/payments", {**payment, "capture_method": "manual"}),
        "refund_id": created("/v1/refunds", {"payment": captured, "amount": 100}),
        "dispute_id": Dispute.objects.get(payment__public_id=disputed).public_id,
        "endpoint_id": created("/v1/webhook_endpoints", {"url": WEBHOOK_URL, "enabled_events": ["*"]}),
        # DELETE gets an endpoint of its own: once it has deleted the shared one, every later
        # call naming it would be a 404 that only the order of the run explains.
        DELETED_ENDPOINT: created("/v1/webhook_endpoints", {"url": WEBHOOK_URL, "enabled_events": ["*"]}),
        "top_up_id": top_up.public_id,
    }
    event = Event.objects.filter(merchant_id=merchant_id).order_by("-pk").first()
    if event is not None:
        ids["event_id"] = event.public_id
    return ids


def _st_command() -> list[str]:
    st = Path(sys.executable).with_name("st")
    return [str(st)] if st.exists() else [shutil.which("st") or "st"]


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 120)
def test_live_schema_passes_every_schemathesis_check_in_both_modes(
    live_server, transactional_db, e2e_settings, tmp_path
):
    e2e_settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True  # the endpoint created below is local
    tenant = tenant_create("Fuzz")
    with httpx.Client(
        base_url=live_server.url, headers={"Authorization": f"Bearer {tenant.secret}"}, timeout=30
    ) as api:
        ids = _objects_for(tenant.merchant_id, api)
    deleted_endpoint_id = ids.pop(DELETED_ENDPOINT)
    config = tmp_path / "schemathesis.toml"
    # The key goes through the schema's own security scheme (not a blanket header), so the
    # "missing Authorization" cases really go without it.
    config.write_text(
        f'[auth.openapi.{SECURITY_SCHEME}]\nbearer = "{tenant.secret}"\n\n[parameters]\n'
        + "".join(f'{name} = "{value}"\n' for name, value in ids.items())
        + "\n[[operations]]\n"
        + f'include-name = "{DELETE_ENDPOINT_OPERATION}"\n'
        + f'parameters = {{ endpoint_id = "{deleted_endpoint_id}" }}\n'
        + "\n[[operations]]\n"
        + f"include-name = {json.dumps(list(BUSINESS_RULE_OPERATIONS))}\n"
        + f"checks.positive_data_acceptance.expected-statuses = {json.dumps(list(POSITIVE_STATUSES_WITH_400))}\n"
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
            "--mode", "all",
            "--checks", "all",
            "--continue-on-failure",
            "--max-examples", max_examples,
            "--seed", str(SEED),
            "--workers", "2",
            "--report-dir", str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # its own cache folder (.schemathesis/) lands there, not in the work tree
        timeout=RUN_TIMEOUT_SECONDS,
    )  # fmt: skip

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    assert "Tested:" in output and "Server error" not in output
