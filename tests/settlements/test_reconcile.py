"""Reconciliation after each batch: differences become breaks that fail verify_ledger until an
operator resolves them with a reason."""

import pytest
from django.db.models import F

from accounts.services import ledger_verify
from paysys.errors import InvalidRequestError
from settlements.models import LineType, Payout, SettlementBatch, SettlementBreak, SettlementLine
from settlements.services import settlement_batch_reconcile, settlement_break_resolve, settlement_run
from tests.settlements.conftest import tomorrow

pytestmark = pytest.mark.django_db


def test_a_consistent_batch_has_no_break(eur_day):
    assert settlement_run(date=tomorrow()).breaks == 0
    assert not SettlementBreak.objects.exists()


def test_a_tampered_line_breaks_until_resolved(eur_day):
    settlement_run(date=tomorrow())
    batch = SettlementBatch.objects.get(date=tomorrow())
    line = SettlementLine.objects.filter(type=LineType.PAYMENT).order_by("pk").first()
    SettlementLine.objects.filter(pk=line.pk).update(amount=F("amount") + 1, gross=F("gross") + 1)

    breaks = settlement_batch_reconcile(batch=batch)
    kinds = {b.kind for b in breaks}
    assert kinds == {"line_differs_from_entry", "posting_differs_from_lines", "totals_differ_from_lines"}
    entry_break = next(b for b in breaks if b.kind == "line_differs_from_entry")
    assert (entry_break.what, entry_break.expected, entry_break.found) == (
        f"line sl_{line.pk}",
        str(line.amount.amount),
        str(line.amount.amount + 1),
    )
    # Recorded once.
    assert len(settlement_batch_reconcile(batch=batch)) == 3
    result = ledger_verify()
    assert not result.ok
    assert {f["check"] for f in result.failures} == {"settlement_breaks_unresolved"}

    with pytest.raises(InvalidRequestError):
        settlement_break_resolve(break_id=entry_break.pk, reason="")
    for found in breaks:
        settlement_break_resolve(break_id=found.pk, reason="line corrected by finance", operator_id="7")
    assert ledger_verify().ok
    assert SettlementBreak.objects.get(pk=entry_break.pk).resolved_by == "7"


def test_a_payout_that_differs_from_its_net_breaks(eur_day):
    settlement_run(date=tomorrow())
    payout = Payout.objects.order_by("pk").first()
    Payout.objects.filter(pk=payout.pk).update(amount=F("amount") - 1)
    [found] = settlement_batch_reconcile(batch=SettlementBatch.objects.get(date=tomorrow()))
    assert (found.kind, found.settlement_id) == ("payout_differs_from_net", payout.settlement_id)
    settlement_break_resolve(break_id=found.pk, reason="bank fee agreed with the merchant")
