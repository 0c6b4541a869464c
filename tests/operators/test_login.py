"""The operators' log-in: second factor, enrolment, lockout, password rules, idle sessions."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from paysys.operators.roles import SUPPORT
from tests.operators.conftest import login_post
from tests.operators.people import PASSWORD, operator_create, totp_code

INDEX = "/admin/"


@pytest.fixture
def operator(operator_roles, otp_required):
    return operator_create(SUPPORT)


def test_password_alone_does_not_let_an_enrolled_operator_in(operator):
    client = Client()
    response = login_post(client, operator.username)
    assert response.status_code == 200
    assert "otp_token" in response.context["form"].errors or response.context["form"].non_field_errors()
    assert client.get(INDEX).status_code == 302


def test_a_wrong_code_is_refused(operator):
    client = Client()
    good = totp_code(operator)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    assert login_post(client, operator.username, code=wrong).status_code == 200
    assert client.get(INDEX).status_code == 302


def test_password_and_code_let_the_operator_in(operator):
    client = Client()
    assert login_post(client, operator.username, code=totp_code(operator)).status_code == 302
    assert client.get(INDEX).status_code == 200


def test_a_session_without_the_second_factor_is_not_let_in(operator):
    """A session logged in some other way than the form (no device verified) sees no admin page."""
    client = Client()
    client.force_login(operator)
    assert client.get(INDEX).status_code == 302
    assert client.get(reverse("admin:payments_payment_changelist")).status_code == 302


def test_an_operator_without_a_device_enrols_one_and_is_then_let_in(operator_roles, otp_required):
    user = get_user_model().objects.create_user("newcomer", "n@example.com", PASSWORD, is_staff=True)
    client = Client()
    assert login_post(client, "newcomer").status_code == 302
    # Only the enrolment page is open: the admin sends everything else there.
    response = client.get(INDEX, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:otp_enrol")
    assert b"<svg" in response.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert response.context["manual_key"]
    code = f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert client.post(reverse("admin:otp_enrol"), {"code": wrong}).status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    # A wrong code throttles the next try for a second or so (django-otp): as if that had passed.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    response = client.post(reverse("admin:otp_enrol"), {"code": code})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(INDEX).status_code == 200
    # Enrolled: the page refuses a second device to whoever holds the session.
    assert client.get(reverse("admin:otp_enrol")).status_code == 302
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_enrolment_needs_a_logged_in_operator(operator_roles, otp_required):
    response = Client().get(reverse("admin:otp_enrol"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_failed_log_ins_lock_the_operator_out(operator, settings):
    settings.AXES_ENABLED = True
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login_post(client, operator.username, password="wrong-password").status_code == 200
    assert login_post(client, operator.username, password="wrong-password").status_code == 429
    # Locked: even the right password and code are refused, from any client.
    response = login_post(Client(), operator.username, code=totp_code(operator))
    assert response.status_code == 429
    assert Client().get(INDEX).status_code == 302


def test_fewer_failures_than_the_limit_do_not_lock(operator, settings):
    settings.AXES_ENABLED = True
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login_post(client, operator.username, password="wrong-password")
    assert login_post(client, operator.username, code=totp_code(operator)).status_code == 302


@pytest.mark.parametrize(
    "password",
    ["short-1A", "password1234", "12345678901234", "support-operator"],
)
def test_weak_passwords_are_refused(password, operator):
    with pytest.raises(ValidationError):
        validate_password(password, user=operator)


def test_a_strong_password_is_accepted(operator):
    validate_password("ledger-Mountain-quietly-42", user=operator)


def test_the_session_ends_after_idle_time_and_each_request_pushes_it_on(operator, settings):
    assert settings.SESSION_COOKIE_AGE <= 15 * 60
    client = Client()
    login_post(client, operator.username, code=totp_code(operator))
    session = Session.objects.get(session_key=client.session.session_key)
    # Active use: ten idle minutes later, a request pushes the expiry a full idle period on.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get(INDEX).status_code == 200
    session.refresh_from_db()
    assert session.expire_date > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    # Idle past the limit: the session is gone and the admin asks for a log-in again.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
