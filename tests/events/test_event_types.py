"""One list of event types (``paysys.events.types.EVENT_TYPES``): docs/webhooks.md shows exactly
it, the OpenAPI schema enumerates exactly it, it holds the contract's types, and a merchant can
subscribe to each type paysys sends."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from merchants.services import api_key_create, merchant_activate, merchant_onboard
from paysys.events.types import EVENT_TYPES, WILDCARD_EVENT

# The event types of the public contract (API.md, "Events and webhooks"): the minimum.
CONTRACT_EVENT_TYPES = {
    "payment.succeeded",
    "payment.failed",
    "payment.captured",
    "payment.canceled",
    "payment.requires_review",
    "refund.succeeded",
    "dispute.created",
    "dispute.closed",
    "transfer.created",
    "transfer.reversed",
    "settlement.completed",
    "payout.paid",
    "payout.failed",
}
_ROW = re.compile(r"^\| `(?P<type>[a-z_.]+)` \| `(?P<object>[a-z_]+)` \| (?P<when>.+) \|$")


def _documented_rows() -> dict[str, tuple[str, str]]:
    text = (Path(django_settings.BASE_DIR) / "docs" / "webhooks.md").read_text()
    section = text.split("## Event types\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if match := _ROW.match(line):
            assert match["type"] not in rows, f"{match['type']} is listed twice"
            rows[match["type"]] = (match["object"], match["when"])
    return rows


def test_the_webhooks_doc_lists_exactly_the_types_sent():
    documented = _documented_rows()
    assert documented == {name: (t.object, t.when) for name, t in EVENT_TYPES.items()}


def test_the_contracts_types_are_all_listed():
    assert set(EVENT_TYPES) >= CONTRACT_EVENT_TYPES


@pytest.fixture
def schema(db, client):
    response = client.get("/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _enum(schema: dict, node: dict) -> list[str]:
    """The enumeration ``node`` states, inline or through its ``$ref`` (spectacular names them)."""
    for ref in [node, *node.get("allOf", [])]:
        if "$ref" in ref:
            return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]["enum"]
    return node["enum"]


def test_the_schema_enumerates_exactly_the_types_sent(schema):
    components = schema["components"]["schemas"]
    assert sorted(components["EventTypeEnum"]["enum"]) == sorted(EVENT_TYPES)
    assert sorted(components["EnabledEventEnum"]["enum"]) == sorted([WILDCARD_EVENT, *EVENT_TYPES])
    assert (
        _enum(schema, components["EventOutput"]["properties"]["type"]) == components["EventTypeEnum"]["enum"]
    )
    for name in ("WebhookEndpointCreateInput", "PatchedWebhookEndpointUpdateInput", "WebhookEndpointOutput"):
        items = components[name]["properties"]["enabled_events"]["items"]
        assert _enum(schema, items) == components["EnabledEventEnum"]["enum"], name
    (type_filter,) = [p for p in schema["paths"]["/v1/events"]["get"]["parameters"] if p["name"] == "type"]
    assert sorted(_enum(schema, type_filter["schema"])) == sorted(EVENT_TYPES)


@pytest.fixture
def api(db, settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    merchant = merchant_activate(
        merchant_id=merchant_onboard(name="Shop", email="shop@example.com", default_currency="EUR").public_id
    )
    _, secret = api_key_create(merchant_id=merchant.public_id)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_merchant_can_subscribe_to_every_type_sent(api):
    body = {"url": "https://93.184.215.14/hooks", "enabled_events": list(EVENT_TYPES)}
    response = api.post("/v1/webhook_endpoints", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["enabled_events"] == list(EVENT_TYPES)


def test_an_unknown_type_is_a_400_naming_its_param(api):
    body = {"url": "https://93.184.215.14/hooks", "enabled_events": ["payment.vanished"]}
    response = api.post("/v1/webhook_endpoints", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "enabled_events"
    response = api.get("/v1/events", {"type": "payment.vanished"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "type"
