"""The issue's "done when": a merchant registers an endpoint, takes a payment, and receives a
signed ``payment.succeeded`` that the official library verifies, through a real worker."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

from tests.webhooks.test_api import _client_for


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
@pytest.mark.slow
def test_merchant_takes_a_payment_and_receives_a_verified_payment_succeeded(
    worker_factory, receiver, settings
):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    worker_factory().start()
    client, _ = _client_for("delta")
    created = client.post(
        "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events": ["payment.succeeded"]}, format="json"
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]

    payment = client.post(
        "/v1/payments",
        {
            "amount": 1050,
            "currency": "eur",
            "payment_method_data": {
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            },
        },
        format="json",
    )
    assert payment.status_code == 201, payment.content

    (request,) = receiver.wait_for(1, timeout=30)
    event = Webhook(secret).verify(request.body, request.headers)
    assert event["type"] == "payment.succeeded"
    assert event["data"]["object"]["id"] == payment.json()["id"]
    assert request.headers["webhook-id"] == event["id"]
    assert "4242424242424242" not in request.body.decode()
    listed = client.get("/v1/events", {"type": "payment.succeeded"}).json()["data"]
    assert listed[0] == json.loads(request.body)
