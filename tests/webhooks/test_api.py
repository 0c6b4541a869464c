"""/v1/events and /v1/webhook_endpoints through HTTP (Django test client, real auth and keys)."""

import pytest
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from merchants.services import api_key_create, merchant_activate, merchant_onboard
from paysys.events import webhook_services as ws
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from paysys.events.serializers import event_payload
from tests.webhooks.conftest import emit

PUBLIC_URL = "https://93.184.215.14/hooks"  # a public address literal: no DNS needed


def _client_for(name: str) -> tuple[APIClient, str]:
    merchant = merchant_activate(
        merchant_id=merchant_onboard(name=name, email=f"{name}@example.com", default_currency="EUR").public_id
    )
    _, secret = api_key_create(merchant_id=merchant.public_id)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, merchant.public_id


@pytest.fixture
def api(db, settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    return _client_for("alpha")


@pytest.fixture
def other(db):
    return _client_for("beta")


def _create(client, **body):
    payload = {"url": PUBLIC_URL, "enabled_events": ["*"], **body}
    return client.post("/v1/webhook_endpoints", payload, format="json")


def test_create_shows_the_secret_once(api):
    client, _ = api
    response = _create(client, enabled_events=["payment.succeeded", "refund.succeeded"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("we_") and body["object"] == "webhook_endpoint"
    assert body["secret"].startswith("whsec_") and body["status"] == "enabled"
    assert body["enabled_events"] == ["payment.succeeded", "refund.succeeded"]

    shown = client.get(f"/v1/webhook_endpoints/{body['id']}").json()
    assert "secret" not in shown and shown["url"] == PUBLIC_URL
    listed = client.get("/v1/webhook_endpoints").json()
    assert [e["id"] for e in listed["data"]] == [body["id"]] and "secret" not in listed["data"][0]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "http://10.0.0.5/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "ftp://93.184.215.14/hooks",
    ],
)
def test_blocked_url_is_refused_with_a_clear_400(api, url):
    client, _ = api
    response = _create(client, url=url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "url" and error["type"] == "invalid_request_error"
    assert not WebhookEndpoint.objects.exists()


def test_unknown_event_type_is_refused(api):
    client, _ = api
    response = _create(client, enabled_events=["payment.exploded"])
    assert response.status_code == 400 and response.json()["error"]["param"] == "enabled_events"


def test_patch_changes_events_and_status_and_rechecks_the_url(api):
    client, _ = api
    endpoint_id = _create(client).json()["id"]
    response = client.patch(
        f"/v1/webhook_endpoints/{endpoint_id}",
        {"enabled_events": ["payout.paid"], "status": "disabled"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "disabled" and response.json()["disabled_reason"] == "merchant"
    assert response.json()["enabled_events"] == ["payout.paid"]
    refused = client.patch(
        f"/v1/webhook_endpoints/{endpoint_id}", {"url": "http://192.168.0.1/"}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "url"
    enabled = client.patch(f"/v1/webhook_endpoints/{endpoint_id}", {"status": "enabled"}, format="json")
    assert enabled.json()["status"] == "enabled" and enabled.json()["disabled_reason"] is None


def test_delete_hides_the_endpoint(api):
    client, _ = api
    endpoint_id = _create(client).json()["id"]
    response = client.delete(f"/v1/webhook_endpoints/{endpoint_id}")
    assert response.status_code == 200
    assert response.json() == {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}
    assert client.get(f"/v1/webhook_endpoints/{endpoint_id}").status_code == 404
    assert client.get("/v1/webhook_endpoints").json()["data"] == []


def test_rotate_secret_returns_a_new_secret(api):
    client, _ = api
    created = _create(client).json()
    rotated = client.post(f"/v1/webhook_endpoints/{created['id']}/rotate_secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != created["secret"]


def test_events_list_get_and_resend(api, queue):
    client, merchant_id = api
    _create(client)
    first = emit(merchant_id, "payment.succeeded")
    second = emit(merchant_id, "refund.succeeded")
    emit("mer_someoneelse")

    listed = client.get("/v1/events").json()
    assert [e["id"] for e in listed["data"]] == [second.public_id, first.public_id]
    only_refunds = client.get("/v1/events", {"type": "refund.succeeded"}).json()
    assert [e["id"] for e in only_refunds["data"]] == [second.public_id]
    shown = client.get(f"/v1/events/{first.public_id}").json()
    assert shown == event_payload(first.__class__.objects.get(pk=first.pk))
    assert shown["object"] == "event" and shown["data"]["object"]["object"] == "payment"

    resent = client.post(f"/v1/events/{first.public_id}/resend", {}, format="json")
    assert resent.status_code == 200, resent.content
    (delivery,) = resent.json()["data"]
    assert delivery["event"] == first.public_id and delivery["status"] == "pending"


def test_deliveries_list_shows_attempt_summary(api, django_assert_max_num_queries):
    client, merchant_id = api
    endpoint_id = _create(client).json()["id"]
    endpoint = WebhookEndpoint.objects.get()
    events = [emit(merchant_id) for _ in range(3)]
    for event in events:
        ws.webhook_fanout(event=event)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 3

    with django_assert_max_num_queries(8):  # auth, merchant, endpoint, one page: no N+1
        body = client.get(f"/v1/webhook_endpoints/{endpoint_id}/deliveries", {"limit": 2}).json()
    assert body["has_more"] is True and len(body["data"]) == 2
    assert body["data"][0]["event"] == events[-1].public_id
    assert body["data"][0]["webhook_endpoint"] == endpoint_id and body["data"][0]["attempt_count"] == 0


def test_another_merchants_ids_are_404_like_unknown_ones(api, other):
    client, merchant_id = api
    other_client, _ = other
    endpoint_id = _create(client).json()["id"]
    event = emit(merchant_id)
    unknown = other_client.get("/v1/webhook_endpoints/we_doesnotexist").json()
    for method, path in [
        ("get", f"/v1/webhook_endpoints/{endpoint_id}"),
        ("patch", f"/v1/webhook_endpoints/{endpoint_id}"),
        ("delete", f"/v1/webhook_endpoints/{endpoint_id}"),
        ("post", f"/v1/webhook_endpoints/{endpoint_id}/rotate_secret"),
        ("get", f"/v1/webhook_endpoints/{endpoint_id}/deliveries"),
        ("get", f"/v1/events/{event.public_id}"),
        ("post", f"/v1/events/{event.public_id}/resend"),
    ]:
        response = getattr(other_client, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == unknown["error"]["code"]
    assert other_client.get("/v1/events").json()["data"] == []
    assert WebhookEndpoint.objects.get().status == "enabled"


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_merchant_registers_an_endpoint_and_receives_a_verifiable_event(settings, receiver, queue):
    """The issue's "done when", minus the worker: register by API, emit, deliver, verify."""
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    client, merchant_id = _client_for("gamma")
    secret = _create(client, url=receiver.url, enabled_events=["payment.succeeded"]).json()["secret"]
    event = emit(merchant_id, "payment.succeeded")
    assert ws.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk) == ws.RESULT_DELIVERED
    request = receiver.received[0]
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["id"] == event.public_id and payload["type"] == "payment.succeeded"


@pytest.mark.parametrize("path", ["/v1/webhook_endpoints", "/v1/events"])
def test_list_filters_with_unknown_values_are_a_400_naming_them(api, path):
    client, _ = api
    param = "status" if "webhook" in path else "type"
    response = client.get(path, {param: "bogus"})  # an event type is one of paysys.events.types
    assert response.status_code == 400 and response.json()["error"]["param"] == param


def test_blank_url_or_endpoint_is_refused(api):
    client, _ = api
    assert _create(client, url="").json()["error"]["param"] == "url"
    event = emit(api[1])
    refused = client.post(f"/v1/events/{event.public_id}/resend", {"webhook_endpoint": ""}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "webhook_endpoint"
