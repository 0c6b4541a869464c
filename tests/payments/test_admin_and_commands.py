from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from moneyed import Money

from payments.models import Payment
from payments.services import payment_create
from tests.payments.conftest import card


@pytest.fixture
def operator_client(client, db):
    user = get_user_model().objects.create_superuser("op", "op@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client, user


def test_admin_lists_payments_and_approves_a_review_through_the_service(operator_client, merchant):
    client, user = operator_client
    payment = payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card("4100000000000019"))
    assert client.get("/admin/payments/payment/").status_code == 200
    assert client.get(f"/admin/payments/payment/{payment.pk}/change/").status_code == 200
    response = client.post(
        "/admin/payments/payment/",
        {
            "action": "approve_review",
            "_selected_action": [payment.pk],
            "confirm": "yes",
            "reason": "known customer",
        },
        follow=True,
    )
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    from paysys.audit.models import AuditEvent

    approval = AuditEvent.objects.get(object_id=payment.public_id, event_type="payment.review_approve")
    assert (approval.actor_type, approval.actor_id) == ("operator", str(user.pk))
    assert approval.metadata["reason"] == "known customer"


def test_expire_authorizations_command_reports_its_count(merchant):
    payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card(), capture_method="manual")
    Payment.objects.update(expires_at="2000-01-01T00:00:00Z")
    out = StringIO()
    call_command("expire_authorizations", stdout=out)
    assert "expired 1 authorization" in out.getvalue()
    assert Payment.objects.get().status == "canceled"
