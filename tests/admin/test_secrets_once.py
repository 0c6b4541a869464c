"""A new API key's secret is shown once, on the response to the request that made it, and never
again: not on the key's page, its history, the changelist, nor in a message stored in the session."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.sessions.models import Session
from django.urls import reverse

from merchants.models import ApiKey

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
