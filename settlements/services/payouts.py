"""Payouts: a completed settlement's net leaves the merchant's ``available`` balance for its bank.

- ``payout_create`` (inside the settlement's transaction) posts ``available`` -net,
  ``payouts_in_transit`` +net (``payout:<po_id>``) at once, whether the payout is sent or waits
  ``on_hold`` behind an operator's hold: the funds are spoken for and no refund or transfer can
  spend them meanwhile. A ``pending`` payout is sent after commit.
- ``payout_send``: the bank accepts it: ``in_transit`` with an arrival date.
- ``payouts_update`` (beat): asks the bank about payouts in transit due by today, and sends
  pending ones whose message was lost. Paid: the money leaves the platform
  (``payouts_in_transit`` -> ``card_clearing``, the account that mirrors the platform's cash
  outside the ledger; ``payout_paid:<po_id>``), ``payout.paid``. Failed: the funds come back
  (``payouts_in_transit`` -> ``available``, ``payout_failed:<po_id>``), ``payout.failed``.
- ``payout_hold`` / ``payout_release``: an operator's hold on a merchant's payouts, with a reason.
  While it is open, new payouts wait ``on_hold`` and pending ones are put on hold; a payout
  already at the bank goes on. Releasing sends the held ones.

Every transition locks the payout row first and is idempotent (unique references).
"""

from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from moneyed import Money

from accounts.models import AccountKind, TransactionKind
from accounts.services import (
    PostingLine,
    ledger_atomic,
    ledger_post,
    merchant_account_get,
    platform_account_get,
)
from merchants.models import Merchant
from paysys.audit.services import audit_record
from paysys.errors import InvalidRequestError, NotFoundError
from paysys.events.services import event_emit
from settlements import bank
from settlements.models import Payout, PayoutHold, Settlement
from settlements.serializers import payout_object

# Payouts one ``payouts_update`` run looks at, each in its own transaction.
PAYOUTS_UPDATE_BATCH = 500


def _payout_audit(payout: Payout, previous: str, **metadata: str) -> None:
    audit_record(
        event_type=f"payout.{payout.status}",
        object_type="payout",
        object_id=payout.public_id,
        previous_state=previous,
        new_state=payout.status,
        amount=payout.amount.amount,
        currency=payout.currency,
        merchant_id=payout.merchant.public_id,
        metadata={"settlement": payout.settlement.public_id, **metadata},
    )


def _send_after_commit(payout: Payout) -> None:
    from settlements.tasks import payout_send_task

    # Robust: a broker that is down loses the message, not the commit; payouts_update sends it.
    transaction.on_commit(lambda: payout_send_task.delay(payout.pk), robust=True)


def payout_create(*, settlement: Settlement, available_pk: int, in_transit_pk: int) -> Payout:
    """The payout of a completed settlement's (positive) net, in the caller's transaction, from
    the merchant's ``available`` account to the platform's ``payouts_in_transit`` (their pks)."""
    merchant = settlement.merchant
    currency = settlement.currency
    held = PayoutHold.objects.filter(merchant=merchant, released_at__isnull=True).exists()
    payout = Payout(
        settlement=settlement,
        merchant=merchant,
        livemode=settlement.livemode,
        amount=settlement.net,
        status=Payout.Status.ON_HOLD if held else Payout.Status.PENDING,
    )
    amount = Money(settlement.net.amount, currency)
    payout.transaction = ledger_post(
        reference=f"payout:{payout.public_id}",
        kind=TransactionKind.PAYOUT,
        lines=[PostingLine(available_pk, -amount), PostingLine(in_transit_pk, amount)],
        metadata={"payout": payout.public_id, "settlement": settlement.public_id},
        merchant_id=merchant.public_id,
    ).transaction
    payout.save()
    _payout_audit(payout, "")
    if payout.status == Payout.Status.PENDING:
        _send_after_commit(payout)
    return payout


def payout_lock(*, payout_pk: int) -> Payout:
    try:
        return (
            Payout.objects.select_for_update(of=("self",), no_key=True)
            .select_related("merchant", "settlement")
            .get(pk=payout_pk)
        )
    except Payout.DoesNotExist:
        raise NotFoundError(f"No such payout: {payout_pk}.", param="payout") from None


@ledger_atomic
def payout_send(*, payout_pk: int, today: date | None = None) -> Payout:
    """Hand a pending payout to the bank; anything else is left as it is."""
    payout = payout_lock(payout_pk=payout_pk)
    if payout.status != Payout.Status.PENDING:
        return payout
    answer = bank.send(
        reference=payout.public_id,
        outcome=bank.outcome_for(payout.merchant.metadata),
        day=today or timezone.now().date(),
    )
    previous = payout.status
    payout.status = Payout.Status.IN_TRANSIT
    payout.arrival_date = answer.arrival_date
    payout.bank_reference = answer.reference
    payout.save()
    _payout_audit(payout, previous)
    return payout


def _outcome_post(payout: Payout, *, paid: bool) -> None:
    currency = payout.currency
    amount = Money(payout.amount.amount, currency)
    in_transit = platform_account_get(
        kind=AccountKind.PAYOUTS_IN_TRANSIT, currency=currency, livemode=payout.livemode
    )
    if paid:
        to = platform_account_get(kind=AccountKind.CARD_CLEARING, currency=currency, livemode=payout.livemode)
    else:
        to = merchant_account_get(
            merchant_id=payout.merchant.public_id,
            kind=AccountKind.AVAILABLE,
            currency=currency,
            livemode=payout.livemode,
        )
    result = ledger_post(
        reference=f"payout_{'paid' if paid else 'failed'}:{payout.public_id}",
        kind=TransactionKind.PAYOUT,
        lines=[PostingLine(in_transit.pk, -amount), PostingLine(to.pk, amount)],
        metadata={"payout": payout.public_id},
        merchant_id=payout.merchant.public_id,
    )
    if paid:
        payout.paid_transaction = result.transaction
    else:
        payout.return_transaction = result.transaction


@ledger_atomic
def payout_update(*, payout_pk: int, today: date | None = None) -> Payout:
    """Apply the bank's word on a payout in transit (paid or failed); send a pending one."""
    payout = payout_lock(payout_pk=payout_pk)
    today = today or timezone.now().date()
    if payout.status == Payout.Status.PENDING:
        return payout_send(payout_pk=payout_pk, today=today)
    if payout.status != Payout.Status.IN_TRANSIT:
        return payout
    answer = bank.status(reference=payout.bank_reference, today=today)
    if answer is None or answer.status == bank.IN_TRANSIT:
        return payout
    previous = payout.status
    paid = answer.status == bank.PAID
    _outcome_post(payout, paid=paid)
    payout.status = Payout.Status.PAID if paid else Payout.Status.FAILED
    payout.failure_code = answer.failure_code
    payout.save()
    _payout_audit(payout, previous)
    event_emit(
        event_type=f"payout.{payout.status}",
        merchant_id=payout.merchant.public_id,
        object_type="payout",
        data={"object": payout_object(payout)},
        livemode=payout.livemode,
    )
    return payout


def payouts_update(*, today: date | None = None) -> dict[str, int]:
    """Beat: bring every due payout up to date with the bank, each in its own transaction."""
    today = today or timezone.now().date()
    due = (
        Payout.objects.filter(
            Q(status=Payout.Status.PENDING) | Q(status=Payout.Status.IN_TRANSIT, arrival_date__lte=today)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:PAYOUTS_UPDATE_BATCH]
    )
    counts: dict[str, int] = {}
    for pk in list(due):
        status = payout_update(payout_pk=pk, today=today).status
        counts[status] = counts.get(status, 0) + 1
    return counts


def _reason_check(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequestError("A reason is required.", param="reason")
    return reason


def _merchant_lock(merchant_id: str) -> Merchant:
    try:
        return Merchant.objects.select_for_update(no_key=True).get(public_id=merchant_id)
    except Merchant.DoesNotExist:
        raise NotFoundError(f"No such merchant: {merchant_id}.", param="merchant") from None


@ledger_atomic
def payout_hold(*, merchant_id: str, reason: str, operator_id: str | None = None) -> PayoutHold:
    """Hold the merchant's payouts: pending ones wait ``on_hold``, new ones too, until released."""
    reason = _reason_check(reason)
    merchant = _merchant_lock(merchant_id)
    hold = PayoutHold.objects.filter(merchant=merchant, released_at__isnull=True).first()
    if hold is None:
        hold = PayoutHold.objects.create(merchant=merchant, reason=reason, held_by=operator_id or "")
        audit_record(
            event_type="payout_hold.placed",
            object_type="merchant",
            object_id=merchant.public_id,
            new_state="held",
            merchant_id=merchant.public_id,
            reason_code=reason[:64],
            metadata={"reason": reason},
        )
    for pk in Payout.objects.filter(merchant=merchant, status=Payout.Status.PENDING).values_list(
        "pk", flat=True
    ):
        payout = payout_lock(payout_pk=pk)
        if payout.status == Payout.Status.PENDING:
            payout.status = Payout.Status.ON_HOLD
            payout.save()
            _payout_audit(payout, Payout.Status.PENDING, reason=reason)
    return hold


@ledger_atomic
def payout_release(*, merchant_id: str, reason: str, operator_id: str | None = None) -> PayoutHold | None:
    """Release the merchant's open hold: its held payouts go to the bank."""
    reason = _reason_check(reason)
    merchant = _merchant_lock(merchant_id)
    hold = PayoutHold.objects.filter(merchant=merchant, released_at__isnull=True).first()
    if hold is None:
        return None
    hold.released_at = timezone.now()
    hold.release_reason = reason
    hold.released_by = operator_id or ""
    hold.save()
    audit_record(
        event_type="payout_hold.released",
        object_type="merchant",
        object_id=merchant.public_id,
        previous_state="held",
        new_state="released",
        merchant_id=merchant.public_id,
        reason_code=reason[:64],
        metadata={"reason": reason},
    )
    for pk in Payout.objects.filter(merchant=merchant, status=Payout.Status.ON_HOLD).values_list(
        "pk", flat=True
    ):
        payout = payout_lock(payout_pk=pk)
        payout.status = Payout.Status.PENDING
        payout.save()
        _payout_audit(payout, Payout.Status.ON_HOLD, reason=reason)
        _send_after_commit(payout)
    return hold
