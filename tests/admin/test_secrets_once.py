"""A new API key's secret is shown once, on the response to the request that made it, and never
again: not on the key's page, its history, the changelist, nor in a message stored in the session."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.sessions.models import Session
from django.urls import reverse

from merchants.models import ApiKey
from paysys.events.webhook_services import webhook_endpoint_create, webhook_endpoint_rotate_secret
from paysys.tenancy import Tenant

pytestmark = pytest.mark.django_db


def test_a_rotated_keys_secret_is_shown_once(world, superuser_client):
    client, _ = superuser_client
    old = world["key"]
    response = client.post(
        reverse("admin:merchants_apikey_changelist"),
        {
            "action": "rotate",
            ACTION_CHECKBOX_NAME: [old.pk],
            "confirm": "yes",
            "reason": "scheduled rotation",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = ApiKey.objects.get(rotated_from=old)
    body = response.content.decode()
    secret = body.split("new secret (shown once) ")[1].split()[0]
    assert secret.startswith(new.prefix)

    pages = [
        reverse("admin:merchants_apikey_changelist"),
        reverse("admin:merchants_merchant_change", args=[world["merchant"].pk]),
    ]
    for key in (old, new):
        pages += [
            reverse("admin:merchants_apikey_change", args=[key.pk]),
            reverse("admin:merchants_apikey_history", args=[key.pk]),
        ]
        pages += [
            reverse("admin:merchants_apikey_simple_history", args=[key.pk, version.pk])
            for version in key.history.all()
        ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert secret not in page.content.decode(), url
        assert new.secret_hash not in page.content.decode(), url
    assert not any(secret in str(session.get_decoded()) for session in Session.objects.all())


def test_a_webhook_endpoints_signing_secret_is_never_shown(world, superuser_client, settings):
    client, _ = superuser_client
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    created = webhook_endpoint_create(
        merchant_id=world["merchant"].public_id, url="http://127.0.0.1:9/other", enabled_events=["*"]
    )
    endpoint = created.endpoint
    rotated = webhook_endpoint_rotate_secret(
        tenant=Tenant(merchant_pk=None, merchant_id=endpoint.merchant_id, livemode=endpoint.livemode),
        endpoint_id=endpoint.public_id,
    )
    endpoint.refresh_from_db()
    hidden = [
        created.secret,
        rotated.secret,
        endpoint.secret_encrypted,
        endpoint.previous_secret_encrypted,
        created.secret.removeprefix("whsec_"),
    ]
    pages = [
        reverse("admin:events_webhookendpoint_changelist"),
        reverse("admin:events_webhookendpoint_change", args=[endpoint.pk]),
        reverse("admin:events_webhookendpoint_history", args=[endpoint.pk]),
        *(
            reverse("admin:events_webhookendpoint_simple_history", args=[endpoint.pk, version.pk])
            for version in endpoint.history.all()
        ),
    ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert endpoint.public_id in page.content.decode(), url
        assert not [value for value in hidden if value in page.content.decode()], url
