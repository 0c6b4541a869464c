"""Processor reconciliation per mode: each mode's processor report against that mode's operations."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from payments.models import ProcessorBreak, ProcessorOperation
from payments.reconciliation import processor_reconcile_modes
from tests.modes.conftest import LIVE_CARD, TEST_CARD, pay

pytestmark = pytest.mark.django_db


def _today():
    return timezone.now().date()


def test_each_mode_is_reconciled_with_its_own_processor_s_report(live_processor, test_api, live_api):
    assert pay(live_api, LIVE_CARD).status_code == 201
    assert pay(test_api, TEST_CARD).status_code == 201
    assert pay(test_api, TEST_CARD).status_code == 201

    runs = processor_reconcile_modes(date=_today())
    # authorize + capture per payment, each in its own mode's report and nowhere else.
    assert (runs["live"]["report_lines"], runs["live"]["operations"], runs["live"]["breaks"]) == (2, 2, 0)
    assert (runs["test"]["report_lines"], runs["test"]["operations"], runs["test"]["breaks"]) == (4, 4, 0)


@pytest.mark.ledger_corrupted
def test_a_break_belongs_to_its_mode_and_the_other_mode_s_run_leaves_it(
    live_processor, test_api, live_api, settings
):
    live = pay(live_api, LIVE_CARD).json()
    pay(test_api, TEST_CARD)
    capture = ProcessorOperation.objects.get(payment__public_id=live["id"], kind="capture")
    ProcessorOperation.objects.filter(pk=capture.pk).update(status="not_sent")

    processor_reconcile_modes(date=_today())
    found = ProcessorBreak.objects.get()
    assert (found.livemode, found.kind, found.reference) == (True, "state_differs", capture.reference)
    # Live mode has no processor any more: its run is skipped, and its break stays open.
    settings.PAYSYS_LIVE_PROCESSOR_BACKEND = ""
    assert processor_reconcile_modes(date=_today())["live"] is None
    assert ProcessorBreak.objects.get(pk=found.pk).resolved_at is None


def test_without_a_live_processor_the_command_says_live_mode_was_skipped(test_api, settings, capsys):
    settings.PAYSYS_LIVE_PROCESSOR_BACKEND = ""
    pay(test_api, TEST_CARD)
    call_command("reconcile_processor", "--date", str(_today()))
    out = capsys.readouterr().out
    assert f"{_today()} test: 2 report lines, 2 operations, 0 breaks" in out
    assert f"{_today()} live: skipped, no live processor is configured" in out
