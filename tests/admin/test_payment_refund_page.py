"""From a payment's page an operator refunds (amount and reason), cancels or opens a dispute."""

from decimal import Decimal

from django.urls import reverse
from moneyed import Money

from payments.models import Payment, Refund
from payments.services import payment_create
from paysys.audit.models import AuditEvent
from tests.admin.conftest import staff_client
from tests.payments.conftest import card


def _refund_url(payment: Payment) -> str:
    return reverse("admin:payments_payment_refund", args=[payment.pk])


def _refunded_payment() -> Payment:
    return Payment.objects.get(amount=Decimal("30.000"))


def test_refund_from_the_payment_page_goes_through_the_service_with_the_reason(world, superuser_client):
    client, user = superuser_client
    payment = payment_create(merchant=world["merchant"], amount=Money("30.00", "EUR"), card=card())
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert _refund_url(payment) in page
    # Only what the payment's state allows is offered.
    assert 'data-action="open_dispute"' in page and 'data-action="approve_review"' not in page
    assert "EUR 30.00" in client.get(_refund_url(payment)).content.decode()

    response = client.post(
        _refund_url(payment),
        {"amount": "7.50", "refund_reason": "requested_by_customer", "reason": "ticket 4411"},
    )
    assert response.status_code == 302, response.context["form"].errors
    refund = Refund.objects.filter(payment=payment).order_by("-id").first()
    assert refund.amount == Money("7.50", "EUR") and refund.reason == "requested_by_customer"
    row = AuditEvent.objects.filter(object_id=refund.public_id).order_by("id").first()
    assert row.actor_type == "operator" and row.actor_id == str(user.pk)
    assert row.metadata["reason"] == "ticket 4411"


def test_refund_above_the_refundable_amount_is_refused_with_the_services_message(world, superuser_client):
    client, _ = superuser_client
    payment = _refunded_payment()
    before = Refund.objects.count()
    response = client.post(
        _refund_url(payment), {"amount": "25.01", "refund_reason": "duplicate", "reason": "double order"}
    )
    assert response.status_code == 200
    assert 'class="errorlist nonfield"' in response.content.decode()
    assert Refund.objects.count() == before


def test_refund_amount_finer_than_the_currencys_minor_unit_is_refused(world, superuser_client):
    client, _ = superuser_client
    response = client.post(
        _refund_url(_refunded_payment()), {"amount": "1.005", "refund_reason": "duplicate", "reason": "x"}
    )
    assert "EUR has no such minor unit" in response.content.decode()


def test_refund_page_needs_the_refund_permission(world, viewer_client):
    client, _ = viewer_client
    payment = _refunded_payment()
    before = Refund.objects.count()
    assert client.get(_refund_url(payment)).status_code == 403
    response = client.post(
        _refund_url(payment), {"amount": "1.00", "refund_reason": "duplicate", "reason": "x"}
    )
    assert response.status_code == 403
    assert Refund.objects.count() == before
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert _refund_url(payment) not in page and 'data-action="cancel"' not in page


def test_cancel_from_the_payment_page_asks_to_confirm_then_cancels(world, db):
    client, _ = staff_client(username="canceler", perms=["payments.view_payment", "payments.cancel_payment"])
    payment = Payment.objects.filter(status="requires_review").get()
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert 'data-action="cancel"' in page and 'data-action="open_dispute"' not in page
    form = {"action": "cancel", "_selected_action": str(payment.pk), "index": "0"}
    changelist = reverse("admin:payments_payment_changelist")
    confirmation = client.post(changelist, form)
    assert "are you sure?" in confirmation.content.decode()
    client.post(changelist, {**form, "confirm": "yes", "reason": "customer withdrew"})
    payment.refresh_from_db()
    assert payment.status == "canceled"
