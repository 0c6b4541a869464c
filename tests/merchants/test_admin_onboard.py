"""Onboarding a merchant and creating an API key in the admin: the admin role only, each through
its service with the operator and the reason in the audit row; the new secret is shown once, on
the answer to the POST that made it, and rests nowhere; bad input comes back on the form with
nothing written."""

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from merchants.models import ApiKey, FeePlan, Merchant
from merchants.services import merchant_close, merchant_onboard
from paysys.audit.models import AuditEvent
from paysys.operators.roles import ADMIN, FINANCE, RISK, SUPPORT

pytestmark = pytest.mark.django_db

ONBOARD = reverse("admin:merchants_merchant_add")
CREATE_KEY = reverse("admin:merchants_apikey_add")


def _onboarding(**changes) -> dict:
    return {
        "name": "Corner Shop",
        "email": "corner@example.com",
        "default_currency": "EUR",
        "platform": "",
        "reason": "contract 42 signed",
        **changes,
    }


@pytest.fixture
def merchant():
    return merchant_onboard(name="Shop", email="shop@example.com", default_currency="EUR")


def _key_post(merchant_id: str, **changes) -> dict:
    return {
        "merchant": merchant_id,
        "scope": "read",
        "mode": "live",
        "name": "reporting",
        "reason": "merchant asked for a reporting key",
        **changes,
    }


def _key_form_sent(client, merchant_id: str, **changes):
    """Open the key form (which issues its one-time token) and send it."""
    token = client.get(CREATE_KEY).context["form"]["once"].value()
    return client.post(CREATE_KEY, _key_post(merchant_id, once=token, **changes))


def test_the_admin_onboards_a_merchant_audited_as_the_operator(operator_client):
    client, operator = operator_client(ADMIN)
    page = client.get(reverse("admin:merchants_merchant_changelist"))
    assert ONBOARD in page.content.decode()
    assert client.get(ONBOARD).status_code == 200

    response = client.post(ONBOARD, _onboarding())

    merchant = Merchant.objects.get(email="corner@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:merchants_merchant_change", args=[merchant.pk])
    assert (merchant.name, merchant.status, merchant.default_currency) == ("Corner Shop", "pending", "EUR")
    assert FeePlan.objects.filter(merchant=merchant, currency="EUR").exists()
    row = AuditEvent.objects.get(event_type="merchant.onboarded", object_id=merchant.public_id)
    assert (row.actor_type, row.actor_id) == ("operator", str(operator.pk))
    assert row.metadata["reason"] == "contract 42 signed"


def test_onboarding_connects_to_a_platform(operator_client, merchant):
    client, _ = operator_client(ADMIN)
    client.post(ONBOARD, _onboarding(platform=merchant.public_id))
    assert Merchant.objects.get(email="corner@example.com").platform == merchant


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"default_currency": "eur"}, "default_currency", "Unsupported currency"),
        ({"email": "not-an-address"}, "email", "valid e-mail"),
        ({"name": "   "}, "name", "required"),
        ({"platform": "mer_nosuch"}, "platform", "No such merchant"),
        ({"reason": ""}, "reason", "required"),
    ],
)
def test_bad_onboarding_input_is_a_form_error_and_writes_nothing(operator_client, changes, field, message):
    client, _ = operator_client(ADMIN)
    merchants, audited = Merchant.objects.count(), AuditEvent.objects.count()

    response = client.post(ONBOARD, _onboarding(**changes))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert (Merchant.objects.count(), AuditEvent.objects.count()) == (merchants, audited)


def test_the_admin_creates_a_key_whose_secret_is_shown_once(operator_client, merchant):
    client, operator = operator_client(ADMIN)
    merchant_page = client.get(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
    assert f"{CREATE_KEY}?merchant={merchant.public_id}" in merchant_page.content.decode()
    form = client.get(CREATE_KEY, {"merchant": merchant.public_id})
    assert form.context["form"]["merchant"].value() == merchant.public_id

    response = _key_form_sent(client, merchant.public_id)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(merchant=merchant)
    assert (key.scope, key.mode, key.name) == ("read", "live", "reporting")
    body = response.content.decode()
    secret = body.split('<code id="new-secret">')[1].split("</code>")[0]
    assert secret.startswith(key.prefix)
    assert body.count(secret) == 1
    row = AuditEvent.objects.get(event_type="api_key.created", object_id=key.prefix)
    assert (row.actor_type, row.actor_id) == ("operator", str(operator.pk))
    assert row.metadata["reason"] == "merchant asked for a reporting key"

    # Never again: not on reloading the form, the key's pages, the merchant's, nor in the session.
    for url in (
        CREATE_KEY,
        f"{CREATE_KEY}?merchant={merchant.public_id}",
        reverse("admin:merchants_apikey_changelist"),
        reverse("admin:merchants_apikey_change", args=[key.pk]),
        reverse("admin:merchants_apikey_history", args=[key.pk]),
        reverse("admin:merchants_merchant_change", args=[merchant.pk]),
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert key.prefix in page.content.decode() or url.startswith(CREATE_KEY), url
        assert secret not in page.content.decode(), url
    assert not any(secret in str(session.get_decoded()) for session in Session.objects.all())
    assert secret not in str(list(AuditEvent.objects.values_list("metadata", flat=True)))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"merchant": "mer_nosuch"}, "merchant", "No such merchant"),
        ({"scope": "admin"}, "scope", "Select a valid choice"),
        ({"reason": "  "}, "reason", "required"),
    ],
)
def test_bad_key_input_is_a_form_error_and_writes_nothing(operator_client, merchant, changes, field, message):
    client, _ = operator_client(ADMIN)
    audited = AuditEvent.objects.count()

    response = _key_form_sent(client, merchant.public_id, **changes)

    assert response.status_code == 200
    assert "new-secret" not in response.content.decode()
    assert message in " ".join(response.context["form"].errors[field])
    assert (ApiKey.objects.count(), AuditEvent.objects.count()) == (0, audited)


def test_a_closed_merchant_gets_no_key_and_the_form_says_why(operator_client, merchant):
    client, _ = operator_client(ADMIN)
    merchant_close(merchant_id=merchant.public_id, reason="contract ended")
    response = _key_form_sent(client, merchant.public_id)
    assert "closed" in " ".join(response.context["form"].non_field_errors())
    assert not ApiKey.objects.exists()


def test_a_key_form_sent_again_creates_no_second_key(operator_client, merchant):
    client, _ = operator_client(ADMIN)
    token = client.get(CREATE_KEY).context["form"]["once"].value()
    data = _key_post(merchant.public_id, once=token)
    assert "new-secret" in client.post(CREATE_KEY, data).content.decode()
    audited = AuditEvent.objects.count()

    again = client.post(CREATE_KEY, data)  # the browser's "resend" on reload

    assert "new-secret" not in again.content.decode()
    assert "already sent" in " ".join(again.context["form"].non_field_errors())
    assert (ApiKey.objects.filter(merchant=merchant).count(), AuditEvent.objects.count()) == (1, audited)
    # A forged or missing token is refused the same way.
    for forged in ("made-up", ""):
        response = client.post(CREATE_KEY, _key_post(merchant.public_id, once=forged))
        assert "new-secret" not in response.content.decode()
    assert ApiKey.objects.filter(merchant=merchant).count() == 1
    # A refused form keeps its token: corrected, it goes through.
    token = client.get(CREATE_KEY).context["form"]["once"].value()
    client.post(CREATE_KEY, _key_post(merchant.public_id, once=token, reason=" "))
    assert "new-secret" in client.post(CREATE_KEY, _key_post(merchant.public_id, once=token)).content.decode()


@pytest.mark.parametrize("role", [SUPPORT, RISK, FINANCE])
def test_other_roles_may_neither_onboard_nor_create_keys(role, operator_client, merchant):
    client, _ = operator_client(role)
    audited = AuditEvent.objects.count()
    assert ONBOARD not in client.get(reverse("admin:merchants_merchant_changelist")).content.decode()
    merchant_page = client.get(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
    assert merchant_page.status_code == 200
    assert CREATE_KEY not in merchant_page.content.decode()

    for url, data in ((ONBOARD, _onboarding()), (CREATE_KEY, _key_post(merchant.public_id))):
        assert client.get(url).status_code == 403, url
        assert client.post(url, data).status_code == 403, url

    assert list(Merchant.objects.all()) == [merchant]
    assert not ApiKey.objects.exists()
    assert AuditEvent.objects.count() == audited
