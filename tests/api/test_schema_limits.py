"""Every value a client sends has its limit in the OpenAPI schema, so no limit is a surprise.

The walk covers every operation the schema serves, endpoints added later included: a request
body field, a query, path or header parameter that is a string without a length bound or an
enum, an integer without a minimum and a maximum, a list without a maximum size or an open
object without a maximum number of keys fails here until its limit is stated (and enforced:
the schemathesis run in ``tests/e2e`` sends values just past each limit).
"""

import json

import pytest
from django.test import Client

from paysys.api.schema import amount_maximums

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict:
    response = Client().get("/v1/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def _unbounded(schema: dict, node: dict, where: str) -> list[str]:
    components = schema["components"]["schemas"]
    while "$ref" in node:
        node = components[node["$ref"].rsplit("/", 1)[-1]]
    problems = []
    for key in ("allOf", "oneOf", "anyOf"):
        for part in node.get(key, []):
            if "if" not in part:
                problems += _unbounded(schema, part, where)
    kind = node.get("type")
    if kind == "string" and not ({"enum", "maxLength"} & node.keys() or node.get("format") == "date-time"):
        problems.append(f"{where}: a string without maxLength or enum")
    elif kind == "integer" and not {"minimum", "maximum"} <= node.keys():
        problems.append(f"{where}: an integer without minimum and maximum")
    elif kind == "array":
        if "maxItems" not in node:
            problems.append(f"{where}: a list without maxItems")
        problems += _unbounded(schema, node.get("items", {}), f"{where}[]")
    elif kind == "object":
        if node.get("additionalProperties") not in (None, False) and "maxProperties" not in node:
            problems.append(f"{where}: an open object without maxProperties")
        for name, child in node.get("properties", {}).items():
            problems += _unbounded(schema, child, f"{where}.{name}")
    elif kind is None and not {"allOf", "oneOf", "anyOf", "enum"} & node.keys():
        problems.append(f"{where}: no type")
    return problems


def test_every_request_value_has_its_limit_in_the_schema(schema):
    problems = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                problems += _unbounded(schema, parameter["schema"], f"{where} {parameter['name']}")
            for content in operation.get("requestBody", {}).get("content", {}).values():
                problems += _unbounded(schema, content["schema"], f"{where} body")
    assert problems == []


def _component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def test_the_amount_maximum_is_stated_per_currency(schema, settings):
    transfer = _component(schema, "TransferCreateInput")
    assert transfer["properties"]["amount"]["maximum"] == settings.PAYSYS_MAX_AMOUNT_MAJOR * 1000
    limits = {
        code: rule["then"]["properties"]["amount"]["maximum"]
        for rule in transfer["allOf"]
        for code in rule["if"]["properties"]["currency"]["enum"]
    }
    assert limits["jpy"] == settings.PAYSYS_MAX_AMOUNT_MAJOR
    assert limits["eur"] == settings.PAYSYS_MAX_AMOUNT_MAJOR * 100
    assert "kwd" not in limits  # three decimals: the top maximum itself
    assert amount_maximums()[settings.PAYSYS_MAX_AMOUNT_MAJOR * 1000] == [
        "bhd",
        "iqd",
        "jod",
        "kwd",
        "lyd",
        "omr",
        "tnd",
    ]
    payment = _component(schema, "PaymentCreateInput")
    assert payment["allOf"] == transfer["allOf"]


def test_withdrawn_and_fund_currencies_are_not_in_the_schema(schema):
    currencies = set(_component(schema, "CurrencyEnum")["enum"])
    assert {"eur", "usd", "jpy", "kwd"} <= currencies
    assert (
        not {"adp", "usn", "bov", "che", "chw", "uyi", "mxv", "cou", "dem", "hrk", "xau", "xts"} & currencies
    )


def test_length_limits_the_api_enforces_are_in_the_schema(schema):
    payment = _component(schema, "PaymentCreateInput")["properties"]
    assert payment["receipt_email"]["oneOf"][0]["maxLength"] == 254
    transfer = _component(schema, "TransferCreateInput")["properties"]
    assert (transfer["from_account"]["minLength"], transfer["description"].get("minLength")) == (1, None)
    assert _component(schema, "EventResendInput")["properties"]["webhook_endpoint"]["minLength"] == 1
