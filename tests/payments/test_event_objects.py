"""One rendering: an event carries its object exactly as the API shows it at that moment.

Each object is read back through the API right after the call that emitted its event, and the
event's ``data.object`` must be that body (``payments.serializers``, ``accounts.serializers``).
"""

import pytest

from tests.payments.conftest import card

pytestmark = pytest.mark.django_db


def latest_event_object(api, event_type: str, object_id: str) -> dict:
    events = api.get("/v1/events", {"type": event_type, "limit": 100}).json()["data"]
    return next(event["data"]["object"] for event in events if event["data"]["object"]["id"] == object_id)


def assert_event_shows(api, event_type: str, path: str) -> dict:
    shown = api.get(path)
    assert shown.status_code == 200, shown.content
    body = shown.json()
    assert latest_event_object(api, event_type, body["id"]) == body
    return body


@pytest.fixture
def platform_api(merchant_factory, api_client_for):
    platform = merchant_factory(name="Marketplace")
    seller = merchant_factory(name="Seller", platform=platform)
    return api_client_for(platform), seller


def test_payment_objects_in_events_are_the_api_bodies(platform_api):
    api, seller = platform_api
    created = api.post(
        "/v1/payments",
        {
            "amount": 5000,
            "currency": "eur",
            "capture_method": "manual",
            "payment_method_data": {"type": "card", "card": card()},
            "transfer_data": [{"destination": seller.public_id, "amount": 1000}],
            "description": "Order 7",
            "receipt_email": "buyer@example.com",
            "metadata": {"order": "7"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    payment_id = created.json()["id"]
    assert latest_event_object(api, "payment.authorized", payment_id) == created.json()

    captured = api.post(f"/v1/payments/{payment_id}/capture", {"amount": 4000}, format="json")
    assert captured.status_code == 200, captured.content
    body = assert_event_shows(api, "payment.captured", f"/v1/payments/{payment_id}")
    assert body == captured.json()
    assert body["transfer_data"] == [{"destination": seller.public_id, "amount": 1000}]
    assert body["payment_method"]["card"]["last4"] == "4242"

    refund = api.post(
        "/v1/refunds", {"payment": payment_id, "amount": 500, "reason": "duplicate"}, format="json"
    )
    assert refund.status_code == 201, refund.content
    assert_event_shows(api, "refund.succeeded", f"/v1/refunds/{refund.json()['id']}")
    assert_event_shows(api, "payment.refunded", f"/v1/payments/{payment_id}")

    disputed = api.post(
        "/v1/payments",
        {
            "amount": 3000,
            "currency": "eur",
            "payment_method_data": {"type": "card", "card": card("4000000000000259")},
        },
        format="json",
    )
    assert disputed.status_code == 201, disputed.content
    (dispute,) = api.get("/v1/disputes", {"payment": disputed.json()["id"]}).json()["data"]
    assert_event_shows(api, "dispute.created", f"/v1/disputes/{dispute['id']}")
    evidence = api.post(f"/v1/disputes/{dispute['id']}/evidence", {"text": "Delivered."}, format="json")
    assert evidence.status_code == 200, evidence.content
    assert assert_event_shows(api, "dispute.updated", f"/v1/disputes/{dispute['id']}") == evidence.json()


def test_ledger_objects_in_events_are_the_api_bodies(platform_api):
    api, _seller = platform_api
    wallet = api.post("/v1/accounts", {"currency": "eur"}, format="json").json()
    other = api.post("/v1/accounts", {"currency": "eur"}, format="json").json()
    top_up = api.post(
        "/v1/top_ups",
        {
            "account": wallet["id"],
            "amount": 10_000,
            "currency": "eur",
            "payment_method_data": {"type": "card", "card": card()},
            "metadata": {"source": "test"},
        },
        format="json",
    )
    assert top_up.status_code == 201, top_up.content
    assert assert_event_shows(api, "top_up.succeeded", f"/v1/top_ups/{top_up.json()['id']}") == top_up.json()

    transfer = api.post(
        "/v1/transfers",
        {"from_account": wallet["id"], "to_account": other["id"], "amount": 2500, "currency": "eur"},
        format="json",
    )
    assert transfer.status_code == 201, transfer.content
    transfer_path = f"/v1/transfers/{transfer.json()['id']}"
    assert assert_event_shows(api, "transfer.created", transfer_path) == transfer.json()
    reversed_ = api.post(f"{transfer_path}/reverse", format="json")
    assert reversed_.status_code == 200, reversed_.content
    body = assert_event_shows(api, "transfer.reversed", transfer_path)
    assert body == reversed_.json() and body["reversal_transaction"] is not None
