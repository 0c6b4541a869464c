"""One rendering: a webhook's body is the event as ``GET /v1/events/{id}`` shows it, and the
``webhook_endpoint.disabled`` event carries the endpoint as ``GET /v1/webhook_endpoints/{id}``
shows it (``paysys.events.serializers``)."""

import json

import pytest
from rest_framework.test import APIClient

from merchants.services import api_key_create, merchant_activate, merchant_onboard
from paysys.events import webhook_services as ws
from paysys.events.models import Event, WebhookDelivery
from paysys.events.types import ENDPOINT_DISABLED_EVENT
from paysys.events.webhook_services.payloads import event_body
from tests.webhooks.conftest import emit

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@pytest.fixture
def api(settings, allow_private):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    merchant = merchant_activate(
        merchant_id=merchant_onboard(
            name="Alpha", email="alpha@example.com", default_currency="EUR"
        ).public_id
    )
    _, secret = api_key_create(merchant_id=merchant.public_id)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, merchant.public_id


def test_webhook_bodies_and_the_disabled_endpoint_are_the_api_bodies(api, receiver, queue):
    client, merchant_id = api
    created = client.post(
        "/v1/webhook_endpoints",
        {"url": receiver.url, "enabled_events": ["*"], "description": "Orders", "metadata": {"team": "ops"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    endpoint_id = created.json()["id"]
    event = emit(merchant_id)
    receiver.status = 410
    (delivery,) = WebhookDelivery.objects.filter(event=event)

    assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_ABANDONED

    (request,) = receiver.received
    assert json.loads(request.body) == client.get(f"/v1/events/{event.public_id}").json()
    shown = client.get(f"/v1/webhook_endpoints/{endpoint_id}").json()
    assert (shown["status"], shown["disabled_reason"], shown["metadata"]) == (
        "disabled",
        "gone",
        {"team": "ops"},
    )
    notice = Event.objects.get(type=ENDPOINT_DISABLED_EVENT, merchant_id=merchant_id)
    assert notice.data["object"] == shown
    assert json.loads(event_body(notice)) == client.get(f"/v1/events/{notice.public_id}").json()
