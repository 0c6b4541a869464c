"""Processor reconciliation: the simulator's report of a day against paysys' operations.

Tests that leave an unresolved break are marked ``ledger_corrupted``: ``verify_ledger`` names it.
"""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from moneyed import Money

from accounts.services import ledger_verify
from payments.models import ProcessorBreak, ProcessorOperation
from payments.processor import processor_get
from payments.reconciliation import processor_reconcile
from payments.services import payment_cancel, payment_create, payments_resolve_processing, refund_create
from payments.tasks import processor_reconcile_task
from paysys.audit.models import AuditEvent
from tests.payments.conftest import card

pytestmark = pytest.mark.django_db


def _today():
    return timezone.now().date()


def _breaks(**filters) -> set[tuple[str, str]]:
    return set(ProcessorBreak.objects.filter(**filters).values_list("kind", "reference"))


@pytest.fixture
def day_of_payments(merchant):
    """Captures, a manual payment voided, a partial refund and a decline: all known to both sides."""
    paid = payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card())
    refund_create(payment=paid, amount=Money("4.00", "EUR"))
    manual = payment_create(
        merchant=merchant, amount=Money("3.00", "EUR"), card=card(), capture_method="manual"
    )
    payment_cancel(payment=manual)
    with pytest.raises(Exception, match="declined"):
        payment_create(merchant=merchant, amount=Money("2.00", "EUR"), card=card("4000000000000002"))
    return paid


def test_the_simulator_reports_each_operation_it_performed_once(day_of_payments):
    lines = processor_get().settlement_report(date=_today(), timeout=5)
    assert sorted(line.kind for line in lines) == sorted(
        ["authorize", "capture", "refund", "authorize", "void", "authorize"]
    )
    refund = next(line for line in lines if line.kind == "refund")
    assert (refund.amount, refund.currency, refund.status) == (Decimal("4.000"), "EUR", "succeeded")
    # Asked again under the same reference, the processor answers and reports nothing new.
    op = ProcessorOperation.objects.get(kind="refund")
    processor_get().refund(reference=op.reference, authorization="x", amount=Money(4, "EUR"), timeout=5)
    assert len(processor_get().settlement_report(date=_today(), timeout=5)) == len(lines)


def test_a_clean_day_has_no_break(day_of_payments):
    counts = processor_reconcile(date=_today())
    assert (counts["report_lines"], counts["operations"], counts["breaks"]) == (6, 6, 0)
    assert not ProcessorBreak.objects.exists()
    assert AuditEvent.objects.filter(event_type="processor.reconciled", new_state="clean").count() == 1
    assert ledger_verify().ok


def test_operations_created_before_midnight_and_performed_after_it_are_no_break(day_of_payments):
    yesterday = _today() - timedelta(days=1)
    ProcessorOperation.objects.update(created=datetime.combine(yesterday, time(23, 59, 59), tzinfo=UTC))
    assert processor_reconcile(date=yesterday)["breaks"] == 0
    assert processor_reconcile(date=_today())["breaks"] == 0


@pytest.mark.ledger_corrupted
def test_an_operation_paysys_never_recorded_is_a_break_verify_ledger_names(day_of_payments):
    ghost = "pay_ghost:authorize:00000000"
    token = day_of_payments.payment_method.processor_token
    processor_get().authorize(reference=ghost, token=token, amount=Money(25, "EUR"), timeout=5)
    assert processor_reconcile(date=_today())["breaks"] == 1
    assert _breaks() == {("unknown_at_paysys", ghost)}
    assert ProcessorBreak.objects.get().processor["amount"] == "25"
    result = ledger_verify()
    assert not result.ok
    assert result.failures == [
        {
            "check": "processor_breaks_unresolved",
            "date": str(_today()),
            "livemode": False,
            "kind": "unknown_at_paysys",
            "reference": ghost,
        }
    ]
    assert "processor_breaks_unresolved" in result.summary["checks"]


@pytest.mark.ledger_corrupted
def test_an_answer_the_processor_does_not_report_is_a_break(day_of_payments):
    capture = ProcessorOperation.objects.get(kind="capture")
    ProcessorOperation.objects.create(
        payment=capture.payment, kind="refund", reference="re_nowhere:refund", amount=1, status="succeeded"
    )
    processor_reconcile(date=_today())
    assert _breaks() == {("unknown_at_processor", "re_nowhere:refund")}


@pytest.mark.ledger_corrupted
def test_a_different_amount_is_a_break(day_of_payments):
    capture = ProcessorOperation.objects.get(kind="capture")
    ProcessorOperation.objects.filter(pk=capture.pk).update(amount=Decimal("9.990"))
    processor_reconcile(date=_today())
    assert _breaks() == {("amount_differs", capture.reference)}
    found = ProcessorBreak.objects.get()
    assert (found.paysys["amount"], found.processor["amount"], found.operation_id) == (
        "9.990",
        "10.000",
        capture.pk,
    )


def test_an_answer_never_applied_is_a_break_until_the_resolver_applies_it(merchant, settings):
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0  # performed, the answer lost
    payment = payment_create(merchant=merchant, amount=Money("7.00", "EUR"), card=card())
    assert payment.status == "processing"
    op = ProcessorOperation.objects.get()
    processor_reconcile(date=_today())
    assert _breaks() == {("state_differs", op.reference)}
    assert ProcessorBreak.objects.get().paysys["status"] == "pending"

    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    payments_resolve_processing(min_age=timedelta(0))
    counts = processor_reconcile(date=_today())
    assert (counts["breaks"], counts["resolved"]) == (0, 1)
    assert _breaks(resolved_at__isnull=True) == set()
    assert ledger_verify().ok


@pytest.mark.ledger_corrupted
def test_reconciling_a_day_again_records_each_break_once(day_of_payments):
    ProcessorOperation.objects.filter(kind="capture").update(amount=Decimal("1.000"))
    first = processor_reconcile(date=_today())
    again = processor_reconcile(date=_today())
    assert (first["new_breaks"], again["new_breaks"], again["breaks"]) == (1, 0, 1)
    assert ProcessorBreak.objects.count() == 1


@pytest.mark.ledger_corrupted
def test_the_command_reports_the_day_and_fails_on_breaks(day_of_payments, capsys):
    call_command("reconcile_processor", "--date", str(_today()))
    assert "6 report lines, 6 operations, 0 breaks" in capsys.readouterr().out
    ProcessorOperation.objects.filter(kind="void").update(status="not_sent")
    with pytest.raises(CommandError) as failed:
        call_command("reconcile_processor", "--date", str(_today()))
    assert failed.value.returncode == 1
    assert _breaks() == {("state_differs", ProcessorOperation.objects.get(kind="void").reference)}


@pytest.mark.ledger_corrupted
def test_the_nightly_task_reconciles_the_day_it_is_given(day_of_payments):
    ProcessorOperation.objects.filter(kind="capture").update(amount=Decimal("1.000"))
    assert processor_reconcile_task.apply(args=[str(_today())]).get()["test"]["breaks"] == 1
    # By default it reconciles yesterday, which saw nothing here.
    assert processor_reconcile_task.apply().get()["test"]["report_lines"] == 0


@pytest.mark.ledger_corrupted
def test_operators_see_breaks_in_the_admin_read_only(day_of_payments, admin_client):
    ProcessorOperation.objects.filter(kind="capture").update(amount=Decimal("1.000"))
    processor_reconcile(date=_today())
    found = ProcessorBreak.objects.get()
    listing = admin_client.get("/admin/payments/processorbreak/?kind=amount_differs")
    assert listing.status_code == 200
    assert found.reference in listing.content.decode()
    assert admin_client.get(f"/admin/payments/processorbreak/{found.pk}/change/").status_code == 200
    assert admin_client.get("/admin/payments/processorbreak/add/").status_code == 403
    admin_client.post(f"/admin/payments/processorbreak/{found.pk}/delete/", {"post": "yes"})
    assert ProcessorBreak.objects.filter(pk=found.pk).exists()
