"""Disputes (chargebacks): opened by an operator or the network, evidence, closed won or lost."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import AccountKind, TransactionKind
from accounts.services import PostingLine, ledger_atomic, ledger_post, platform_account_get
from merchants.selectors import merchant_fee_terms_get
from payments.models import Dispute
from payments.persistence import payment_lock
from payments.services.events import dispute_emit
from payments.services.outcomes import merchant_debit_lines
from payments.services.transitions import (
    PaymentsConflictError,
    merchant_pending_get,
    payment_by_public_id,
    payment_lock_for,
)
from payments.states import Action
from paysys.audit.context import ACTOR_OPERATOR, ACTOR_SYSTEM
from paysys.audit.services import audit_record
from paysys.errors import ConflictError, InvalidRequestError, NotFoundError


class DisputeUnexpectedStateError(ConflictError):
    default_code = "dispute_unexpected_state"


def _dispute_audit(
    dispute: Dispute, previous: str, *, actor_type: str | None = None, actor_id: str | None = None
):
    audit_record(
        event_type=f"dispute.{dispute.status}",
        object_type="dispute",
        object_id=dispute.public_id,
        previous_state=previous,
        new_state=dispute.status,
        amount=dispute.amount.amount,
        currency=dispute.currency,
        merchant_id=dispute.payment.merchant.public_id,
        metadata={"payment": dispute.payment.public_id},
        actor_type=actor_type,
        actor_id=actor_id,
    )


@ledger_atomic
def dispute_open(
    *, payment_id: str, reason: str = "general", operator_id: str | None = None, by_network: bool = False
) -> Dispute:
    """Open a dispute (chargeback) on a captured card payment; debits the merchant amount + fee."""
    payment = payment_lock_for(payment_pk=payment_by_public_id(payment_id).pk, action=Action.DISPUTE)
    if payment.hold_id or payment.payment_method_id is None:
        raise PaymentsConflictError(
            "Only card payments can be disputed.",
            code="payment_not_disputable",
            current_status=payment.status,
        )
    if Dispute.objects.filter(payment=payment).exists():
        raise PaymentsConflictError(
            "This payment is already disputed.", code="charge_already_disputed", current_status=payment.status
        )
    disputed = payment.amount_captured - payment.amount_refunded
    if disputed.amount <= 0:
        raise PaymentsConflictError(
            "Nothing remains to dispute on this payment.",
            code="payment_not_disputable",
            current_status=payment.status,
        )
    fee = merchant_fee_terms_get(merchant=payment.merchant, currency=payment.currency).dispute_fee
    merchant_id = payment.merchant.public_id
    lines, shortfall = merchant_debit_lines(
        merchant_id=merchant_id, livemode=payment.livemode, amount=disputed + fee, allow_shortfall=True
    )
    clearing = platform_account_get(
        kind=AccountKind.CARD_CLEARING, currency=payment.currency, livemode=payment.livemode
    )
    fees = platform_account_get(kind=AccountKind.FEES, currency=payment.currency, livemode=payment.livemode)
    if shortfall.amount > 0:
        losses = platform_account_get(
            kind=AccountKind.DISPUTE_LOSSES, currency=payment.currency, livemode=payment.livemode
        )
        lines.append(PostingLine(losses.pk, -shortfall))
    lines.append(PostingLine(clearing.pk, disputed))
    if fee.amount > 0:
        lines.append(PostingLine(fees.pk, fee))
    dispute = Dispute.objects.create(
        payment=payment,
        merchant=payment.merchant,
        currency=payment.currency,
        amount=disputed,
        fee=fee,
        platform_shortfall=shortfall,
        reason=reason[:64] or "general",
        evidence_due_by=timezone.now() + timedelta(days=settings.PAYSYS_DISPUTE_EVIDENCE_DAYS),
        livemode=payment.livemode,
    )
    ledger_post(
        reference=f"dispute:{dispute.public_id}",
        kind=TransactionKind.DISPUTE,
        lines=lines,
        metadata={"payment": payment.public_id, "dispute": dispute.public_id},
        merchant_id=merchant_id,
    )
    payment.disputed = True
    payment.save()
    actor_type = ACTOR_OPERATOR if operator_id else (ACTOR_SYSTEM if by_network else None)
    _dispute_audit(
        dispute, "", actor_type=actor_type, actor_id=operator_id or ("network" if by_network else None)
    )
    dispute_emit(dispute, "dispute.created")
    return dispute


def _dispute_lock(*, dispute_pk: int) -> Dispute:
    return (
        Dispute.objects.select_for_update(of=("self",), no_key=True)
        .select_related("payment")
        .get(pk=dispute_pk)
    )


@ledger_atomic
def dispute_evidence_submit(*, dispute: Dispute, text: str, submit: bool) -> Dispute:
    """Attach the merchant's evidence; ``submit`` sends it for review (no later changes)."""
    payment_lock(payment_pk=dispute.payment_id)
    locked = _dispute_lock(dispute_pk=dispute.pk)
    if locked.status != Dispute.DisputeStatus.NEEDS_RESPONSE:
        raise DisputeUnexpectedStateError(
            f"This dispute's status is {locked.status}; evidence can no longer be changed.",
            current_status=locked.status,
        )
    previous = locked.status
    locked.evidence_text = text
    if submit:
        locked.status = Dispute.DisputeStatus.UNDER_REVIEW
        locked.evidence_submitted_at = timezone.now()
    locked.save()
    _dispute_audit(locked, previous)
    dispute_emit(locked, "dispute.updated")
    return locked


@ledger_atomic
def dispute_close(*, dispute_id: str, outcome: str, operator_id: str | None = None) -> Dispute:
    """Close a dispute ``won`` (the amount comes back, the fee does not) or ``lost`` (nothing moves)."""
    if outcome not in {Dispute.DisputeStatus.WON, Dispute.DisputeStatus.LOST}:
        raise InvalidRequestError("A dispute closes as won or lost.", param="outcome")
    found = Dispute.objects.filter(public_id=dispute_id).values_list("pk", "payment_id").first()
    if found is None:
        raise NotFoundError(f"No such dispute: '{dispute_id}'", param="dispute")
    payment = payment_lock(payment_pk=found[1])
    dispute = _dispute_lock(dispute_pk=found[0])
    if dispute.status not in {Dispute.DisputeStatus.NEEDS_RESPONSE, Dispute.DisputeStatus.UNDER_REVIEW}:
        raise DisputeUnexpectedStateError(
            f"This dispute's status is {dispute.status}; it is closed.", current_status=dispute.status
        )
    if outcome == Dispute.DisputeStatus.WON:
        amount = dispute.amount
        clearing = platform_account_get(
            kind=AccountKind.CARD_CLEARING, currency=payment.currency, livemode=payment.livemode
        )
        pending = merchant_pending_get(
            merchant_id=payment.merchant.public_id, currency=payment.currency, livemode=payment.livemode
        )
        recovered = min(dispute.platform_shortfall, dispute.amount)
        lines = [PostingLine(clearing.pk, -amount)]
        if recovered.amount > 0:
            losses = platform_account_get(
                kind=AccountKind.DISPUTE_LOSSES, currency=payment.currency, livemode=payment.livemode
            )
            lines.append(PostingLine(losses.pk, recovered))
        if (amount - recovered).amount > 0:
            lines.append(PostingLine(pending.pk, amount - recovered))
        ledger_post(
            reference=f"dispute_won:{dispute.public_id}",
            kind=TransactionKind.DISPUTE,
            lines=lines,
            metadata={"payment": payment.public_id, "dispute": dispute.public_id},
            merchant_id=payment.merchant.public_id,
        )
    previous = dispute.status
    dispute.status = outcome
    dispute.closed_at = timezone.now()
    dispute.save()
    dispute.payment = payment
    _dispute_audit(
        dispute, previous, actor_type=ACTOR_OPERATOR if operator_id else None, actor_id=operator_id
    )
    dispute_emit(dispute, "dispute.closed")
    return dispute
