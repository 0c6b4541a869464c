"""Hostile input is a 400 in the error shape on every endpoint, never a 500.

Each case was a 500 or a silent 200 before: JSON nested ~1,000 deep (``RecursionError`` in the
parser and in the idempotency fingerprint), a lone surrogate in ``metadata`` (a jsonb error),
an over-long ``receipt_email`` (``DataError``), unknown currencies in list filters and NUL in a
query parameter (answered 200), ``100.0``/``1E2`` as integer amounts, withdrawn currencies,
and ``0`` as a boolean.
"""

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from paysys.api.parsers import MAX_JSON_DEPTH
from paysys.idempotency.models import IdempotencyKey
from tests.api.helpers import ApiClient, tenant_create
from tests.payments.conftest import card, wallet_for


def card_data() -> dict:
    return {"type": "card", "card": card()}


pytestmark = pytest.mark.django_db

DEEP = 1_000
WRITE_PATHS = [
    ("POST", "/v1/accounts"),
    ("POST", "/v1/transfers"),
    ("POST", "/v1/payments"),
    ("POST", "/v1/payment_methods"),
    ("POST", "/v1/refunds"),
    ("POST", "/v1/webhook_endpoints"),
    ("PATCH", "/v1/webhook_endpoints/we_unknown"),
    ("POST", "/v1/disputes/dp_unknown/evidence"),
]
LIST_PATHS_WITH_CURRENCY = [
    "/v1/accounts",
    "/v1/transfers",
    "/v1/balance_transactions",
    "/v1/payments",
    "/v1/refunds",
    "/v1/disputes",
]


@pytest.fixture
def tenant():
    return tenant_create("Hostile")


@pytest.fixture
def api(tenant, settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    return ApiClient(tenant.secret)


def send(api: ApiClient, method: str, path: str, raw: str, **headers: str):
    return api.client.generic(
        method, path, data=raw.encode("utf-8"), content_type="application/json", **api._headers(headers)
    )


def error_of(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_json_nested_a_thousand_deep_is_a_400_on_every_write(api):
    raw = '{"metadata": ' + "[" * DEEP + "]" * DEEP + "}"
    assert len(raw) < 2_100
    for method, path in WRITE_PATHS:
        error = error_of(send(api, method, path, raw))
        assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_json"), path


def test_json_nested_past_the_limit_but_decodable_is_a_400(api):
    raw = '{"currency": "eur", "metadata": {"k": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}}"
    assert error_of(send(api, "POST", "/v1/accounts", raw))["code"] == "invalid_json"
    shallow = '{"currency": "eur", "metadata": {"k": [[["x"]]]}}'
    assert error_of(send(api, "POST", "/v1/accounts", shallow))["param"] == "metadata"


def test_deep_json_with_an_idempotency_key_is_a_stored_400(api):
    raw = "[" * DEEP + "]" * DEEP
    first = send(api, "POST", "/v1/accounts", raw, **{"Idempotency-Key": "deep-1"})
    assert error_of(first)["code"] == "invalid_json"
    replay = send(api, "POST", "/v1/accounts", raw, **{"Idempotency-Key": "deep-1"})
    assert replay.status_code == 400 and replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert IdempotencyKey.objects.filter(key="deep-1").count() == 1


@pytest.fixture
def objects(tenant, api):
    """A funded wallet, a second wallet and a succeeded payment of the tenant."""
    from merchants.models import Merchant

    merchant = Merchant.objects.get(public_id=tenant.merchant_id)
    funded = wallet_for(merchant, amount=Decimal("100.00"))
    other = api.post("/v1/accounts", {"currency": "eur"}).json()
    payment = api.post(
        "/v1/payments", {"amount": 1000, "currency": "eur", "payment_method_data": card_data()}
    )
    assert payment.status_code == 201, payment.content
    return {"funded": funded.public_id, "other": other["id"], "payment": payment.json()["id"]}


def test_a_lone_surrogate_in_metadata_is_a_400_naming_it_on_every_endpoint(api, objects):
    bodies = {
        "/v1/accounts": {"currency": "eur"},
        "/v1/transfers": {
            "from_account": objects["funded"],
            "to_account": objects["other"],
            "amount": 100,
            "currency": "eur",
        },
        "/v1/payments": {"amount": 500, "currency": "eur", "payment_method_data": card_data()},
        "/v1/refunds": {"payment": objects["payment"], "amount": 100},
        "/v1/webhook_endpoints": {"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]},
    }
    for path, body in bodies.items():
        # json.dumps writes the lone surrogate as the escape "\udc00", as a hostile client would.
        raw = json.dumps({**body, "metadata": {"note": "\udc00"}})
        assert "\\udc00" in raw
        error = error_of(send(api, "POST", path, raw))
        assert (error["code"], error["param"]) == ("parameter_invalid", "metadata[note]"), path
    error = error_of(send(api, "POST", "/v1/accounts", '{"currency": "eur", "metadata": {"\\ud800": "x"}}'))
    assert error["param"] == "metadata"
    # A valid surrogate pair is an ordinary character.
    ok = send(api, "POST", "/v1/accounts", '{"currency": "eur", "metadata": {"n": "\\ud83d\\ude00"}}')
    assert ok.status_code == 201 and ok.json()["metadata"] == {"n": "\U0001f600"}


def test_a_lone_surrogate_in_a_text_field_is_a_400(api):
    raw = json.dumps(
        {"amount": 500, "currency": "eur", "payment_method_data": card_data(), "description": "\udfff"}
    )
    assert error_of(send(api, "POST", "/v1/payments", raw))["param"] == "description"


def test_an_over_long_receipt_email_is_a_400_naming_it(api):
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"
    assert len(email) > 254
    body = {"amount": 500, "currency": "eur", "payment_method_data": card_data(), "receipt_email": email}
    error = error_of(api.post("/v1/payments", body))
    assert (error["code"], error["param"]) == ("parameter_invalid", "receipt_email")


@pytest.mark.parametrize("path", LIST_PATHS_WITH_CURRENCY)
def test_an_unknown_currency_filter_is_a_400_naming_it(api, path):
    for value in ("anything", "EUR", "adp"):
        error = error_of(api.get(f"{path}?currency={value}"))
        assert (error["code"], error["param"]) == ("parameter_invalid", "currency"), (path, value)
    assert api.get(f"{path}?currency=eur").status_code == 200


@pytest.mark.parametrize(
    ("path", "nul_param", "valid"),
    [
        ("/v1/refunds", "payment", "pay_x"),
        ("/v1/disputes", "payment", "pay_x"),
        ("/v1/events", "type", "payment.failed"),
    ],
)
def test_a_nul_in_a_filter_is_a_400_and_skips_no_validation(api, path, nul_param, valid):
    assert error_of(api.get(f"{path}?{nul_param}=x%00"))["param"] == nul_param
    for others in ("created[gte]=garbage", "limit=0", "status=bogus", "created[lt]="):
        assert api.get(f"{path}?{nul_param}=x%00&{others}").status_code == 400, others
    assert api.get(f"{path}?{nul_param}={valid}").json()["data"] == []


@pytest.mark.parametrize("value", ["", "a b", "x" * 65, "é", "pay_1;drop"])
def test_a_filter_value_no_id_can_have_is_a_400(api, value):
    query = urlencode({"payment": value})
    assert error_of(api.get(f"/v1/refunds?{query}"))["param"] == "payment"


@pytest.mark.parametrize("literal", ["100.0", "1E2", "1e2", "100.00", "1.0e2"])
def test_an_integer_amount_written_as_a_decimal_or_exponent_is_a_400(api, objects, literal):
    payment = f'{{"amount": {literal}, "currency": "eur", "payment_method_data": {json.dumps(card_data())}}}'
    transfer = (
        f'{{"from_account": "{objects["funded"]}", "to_account": "{objects["other"]}",'
        f' "amount": {literal}, "currency": "eur"}}'
    )
    refund = f'{{"payment": "{objects["payment"]}", "amount": {literal}}}'
    for path, raw in (("/v1/payments", payment), ("/v1/transfers", transfer), ("/v1/refunds", refund)):
        error = error_of(send(api, "POST", path, raw))
        assert (error["code"], error["param"]) == ("parameter_invalid", "amount"), (path, literal)


@pytest.mark.parametrize("currency", ["adp", "usn", "bov", "che", "chw", "uyi", "mxv", "cou", "hrk", "dem"])
def test_a_withdrawn_or_funds_currency_is_refused(api, currency):
    error = error_of(api.post("/v1/accounts", {"currency": currency}))
    assert error["param"] == "currency"
    body = {"amount": 500, "currency": currency, "payment_method_data": card_data()}
    assert error_of(api.post("/v1/payments", body))["param"] == "currency"


@pytest.mark.parametrize("value", [0, 1, "true", "false", None])
def test_submit_must_be_a_json_boolean(api, value):
    error = error_of(api.post("/v1/disputes/dp_unknown/evidence", {"text": "receipt", "submit": value}))
    assert error["param"] == "submit"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/disputes/dp_unknown/evidence", {"text": 0}, "text"),
        (
            "/v1/webhook_endpoints",
            {"url": "http://127.0.0.1:9/h", "enabled_events": [1]},
            "enabled_events[0]",
        ),
        ("/v1/webhook_endpoints", {"url": ["http://127.0.0.1:9/h"], "enabled_events": ["*"]}, "url"),
        ("/v1/refunds", {"payment": 12345}, "payment"),
        ("/v1/payments", {"amount": 500, "currency": "eur", "payment_method": 7}, "payment_method"),
        ("/v1/payments", {"amount": "500", "currency": "eur", "payment_method": "pm_x"}, "amount"),
        (
            "/v1/payments",
            {"amount": 500, "currency": "eur", "source_account": "acct_x", "description": 1.5},
            "description",
        ),
        (
            "/v1/payments",
            {
                "amount": 500,
                "currency": "eur",
                "payment_method": "pm_x",
                "transfer_data": [{"destination": 1, "amount": 1}],
            },
            "transfer_data[0][destination]",
        ),
    ],
)
def test_a_value_of_another_json_type_than_the_schema_says_is_a_400(api, path, body, param):
    error = error_of(api.post(path, body))
    assert (error["code"], error["param"]) == ("parameter_invalid", param)
