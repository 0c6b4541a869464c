"""Reconciliation of a settlement batch, after each run: each completed settlement against the
ledger (its lines against their entries, its posting against its lines), its own figures
against its lines, its payout against its net, and its lines against the payments, refunds and
disputes they name (``sql/reconcile.sql``, one statement).

A difference is recorded once as a ``SettlementBreak`` (what, expected, found) and stays until an
operator resolves it with a reason; ``verify_ledger`` fails while one is open
(``settlement_breaks_check``, registered by the app).
"""

from django.db import transaction
from django.utils import timezone

from paysys.audit.services import audit_record
from paysys.errors import InvalidRequestError, NotFoundError
from settlements import persistence
from settlements.models import SettlementBatch, SettlementBreak

# Open breaks listed by verify_ledger: enough to act on.
OPEN_BREAKS_LISTED = 100


def settlement_batch_reconcile(*, batch: SettlementBatch) -> list[SettlementBreak]:
    """Record the batch's differences not recorded yet; return the batch's open breaks."""
    with transaction.atomic():
        for difference in persistence.reconcile_differences(batch_pk=batch.pk):
            found, created = SettlementBreak.objects.get_or_create(
                settlement_id=difference.settlement_pk,
                kind=difference.kind,
                what=difference.what,
                defaults={"batch": batch, "expected": difference.expected, "found": difference.found},
            )
            if created:
                audit_record(
                    event_type="settlement.break_found",
                    object_type="settlement_break",
                    object_id=str(found.pk),
                    new_state="open",
                    metadata={
                        "kind": found.kind,
                        "what": found.what,
                        "expected": found.expected,
                        "found": found.found,
                    },
                )
    return list(batch.breaks.filter(resolved_at__isnull=True).order_by("pk"))


@transaction.atomic
def settlement_break_resolve(
    *, break_id: int, reason: str, operator_id: str | None = None
) -> SettlementBreak:
    """An operator's resolution of a break (what was done about it); idempotent."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequestError("A reason is required.", param="reason")
    try:
        found = SettlementBreak.objects.select_for_update().get(pk=break_id)
    except SettlementBreak.DoesNotExist:
        raise NotFoundError(f"No such settlement break: {break_id}.", param="break") from None
    if found.resolved_at is not None:
        return found
    found.resolved_at = timezone.now()
    found.resolution = reason
    found.resolved_by = operator_id or ""
    found.save()
    audit_record(
        event_type="settlement.break_resolved",
        object_type="settlement_break",
        object_id=str(found.pk),
        previous_state="open",
        new_state="resolved",
        reason_code=reason[:64],
        metadata={"reason": reason, "kind": found.kind, "what": found.what},
    )
    return found


def settlement_breaks_check() -> list[dict]:
    """``verify_ledger``'s check: the open settlement breaks, oldest first."""
    return [
        {"break": b.pk, "kind": b.kind, "what": b.what, "expected": b.expected, "found": b.found}
        for b in SettlementBreak.objects.filter(resolved_at__isnull=True).order_by("pk")[:OPEN_BREAKS_LISTED]
    ]
