"""``payment_save`` writes the row and its history exactly as ``save()`` and simple-history do."""

from django.contrib.auth import get_user_model
from django.test import RequestFactory
from moneyed import Money
from simple_history.models import HistoricalRecords

from payments.models import Payment, PaymentMethod
from payments.persistence import payment_save
from payments.services import payment_create
from paysys.audit.context import ACTOR_OPERATOR, actor_scope
from paysys.correlation import correlation_scope
from tests.payments.conftest import card
from tests.row_parity import row_differences, row_fields

_STAMP = {"history_id", "history_date"}


def _latest(payment: Payment) -> dict:
    row = payment.history.order_by("-history_id").values().first()
    return {k: v for k, v in row.items() if k not in _STAMP}


def _changed(payment: Payment, reason: str) -> None:
    payment.description = f"changed {reason}"
    payment.metadata = {"order": reason}
    payment.risk_score += 1


def test_the_row_and_its_history_match_what_save_writes(merchant):
    payment = payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card())
    with correlation_scope("cor_history"):
        _changed(payment, "save")
        payment.save()
        by_save = _latest(payment)
        updated_by_save = Payment.objects.values_list("updated", flat=True).get(pk=payment.pk)
        _changed(payment, "fast")
        payment_save(payment)
        by_fast = _latest(payment)
    stored = Payment.objects.values().get(pk=payment.pk)
    assert stored["description"] == "changed fast"
    assert stored["metadata"] == {"order": "fast"}
    assert stored["updated"] > updated_by_save
    assert by_save["history_type"] == by_fast["history_type"] == "~"
    assert by_fast["history_change_reason"] == by_save["history_change_reason"]
    assert by_fast["history_change_reason"].endswith("cor_history")
    differing = {k for k in by_fast if by_fast[k] != by_save[k]}
    assert differing == {"description", "metadata", "risk_score"}
    assert by_fast["risk_score"] == by_save["risk_score"] + 1 == stored["risk_score"]


def test_the_history_row_names_the_operator_and_keeps_a_given_reason(merchant):
    payment = payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card())
    user = get_user_model().objects.create_user("ops", password="x")
    with actor_scope(actor_type=ACTOR_OPERATOR, actor_id=str(user.pk)):
        payment.description = "by an operator"
        payment_save(payment)
    assert _latest(payment)["history_user_id"] == user.pk
    payment._change_reason = "manual fix"
    payment_save(payment)
    assert _latest(payment)["history_change_reason"] == "manual fix"


def test_the_admin_request_user_is_the_history_user(merchant):
    payment = payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card())
    user = get_user_model().objects.create_user("admin-user", password="x")
    request = RequestFactory().post("/admin/")
    request.user = user
    HistoricalRecords.context.request = request
    try:
        payment.description = "through the admin"
        payment_save(payment)
    finally:
        del HistoricalRecords.context.request
    assert _latest(payment)["history_user_id"] == user.pk


def test_one_statement_on_postgresql(merchant, django_assert_num_queries):
    payment = payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card())
    payment.description = "counted"
    with django_assert_num_queries(1):
        payment_save(payment)


def test_every_field_of_the_row_and_its_history_is_written_as_save_writes_it(merchant):
    """The same change to two like payments, one saved by ``save()``, one by
    ``payment_save``: every concrete field of both rows and of their newest history rows
    compares (tests/row_parity.py)."""
    by_save, by_fast = (
        payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card()) for _ in "ab"
    )
    names = {}
    for name, payment in (("<payment>", by_save), ("<payment>", by_fast)):
        names[payment.public_id] = name
        names[(PaymentMethod, payment.payment_method_id)] = "<card>"
        names[payment.processor_authorization] = "<authorization>"
    with correlation_scope("cor_parity"):
        _changed(by_save, "same")
        by_save.save()
        _changed(by_fast, "same")
        payment_save(by_fast)
    rows = [
        (row_fields(payment, names), row_fields(payment.history.order_by("-history_id").first(), names))
        for payment in (by_save, by_fast)
    ]
    assert row_differences(rows[0][0], rows[1][0]) == {}
    assert row_differences(rows[0][1], rows[1][1]) == {}
    assert rows[1][0]["description"] == "'changed same'"
    assert rows[1][1]["history_change_reason"].endswith("cor_parity'")
