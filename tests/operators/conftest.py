import pytest
from django.test import Client
from django.urls import reverse

from tests.admin.conftest import (  # noqa: F401 (fixtures)
    _fresh_processor_state,
    card,
    wallet_for,
    world,
)
from tests.operators.people import PASSWORD, operator_create, totp_code


def login_post(client: Client, username: str, password: str = PASSWORD, code: str = ""):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "otp_token": code, "next": "/admin/"},
    )


@pytest.fixture
def operator_client(operator_roles, otp_required):
    """``operator_client(role)``: a client of an operator in ``role`` who logged in through the
    admin's form with password and authenticator code."""

    def login(role: str) -> tuple[Client, object]:
        user = operator_create(role)
        client = Client()
        response = login_post(client, user.username, code=totp_code(user))
        assert response.status_code == 302, response.context["form"].errors
        return client, user

    return login
