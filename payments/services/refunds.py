"""Refunds: all or part of what remains captured, booked first, then sent to the processor."""

from collections.abc import Mapping

from moneyed import Money

from accounts.models import AccountKind, TransactionKind
from accounts.services import PostingLine, ledger_atomic, ledger_post, platform_account_get
from payments.models import Payment, ProcessorOperation, Refund
from payments.processor import processor_mode_check
from payments.services.answers import operation_finish, request_resume
from payments.services.events import payment_emit
from payments.services.operations import Kind, operation_send
from payments.services.outcomes import merchant_debit_lines, refund_audit, refund_succeeded
from payments.services.transitions import PaymentsConflictError, payment_lock_for
from payments.states import Action
from paysys.errors import InvalidRequestError


def refund_create(
    *,
    payment: Payment,
    amount: Money | None = None,
    reason: str = "",
    metadata: Mapping[str, str] | None = None,
) -> Refund:
    """Refund all or part of what remains of a captured payment, never more (checked under its lock)."""
    if reason and reason not in Refund.Reason.values:
        raise InvalidRequestError("Unknown refund reason.", param="reason")

    @ledger_atomic
    def begin() -> tuple[Refund, ProcessorOperation | None]:
        locked = payment_lock_for(payment_pk=payment.pk, action=Action.REFUND)
        if locked.disputed:
            raise PaymentsConflictError(
                "This payment is disputed; it cannot be refunded.",
                code="charge_disputed",
                current_status=locked.status,
            )
        remaining = locked.amount_captured - locked.amount_refunded
        wanted = remaining if amount is None else amount
        if wanted.currency != remaining.currency:
            raise InvalidRequestError("The refund is in the payment's currency.", param="amount")
        if remaining.amount <= 0 or wanted > remaining:
            raise InvalidRequestError(
                f"The refund exceeds what remains to refund ({remaining}).",
                code="amount_too_large",
                param="amount",
            )
        refund = Refund.objects.create(
            payment=locked,
            merchant=locked.merchant,
            currency=locked.currency,
            amount=wanted,
            reason=reason,
            metadata=dict(metadata or {}),
            livemode=locked.livemode,
        )
        merchant_id = locked.merchant.public_id
        lines, _ = merchant_debit_lines(
            merchant_id=merchant_id, livemode=locked.livemode, amount=wanted, allow_shortfall=False
        )
        source = (
            locked.source_account_id
            if locked.source_account_id
            else platform_account_get(
                kind=AccountKind.CARD_CLEARING, currency=locked.currency, livemode=locked.livemode
            ).pk
        )
        ledger_post(
            reference=f"refund:{refund.public_id}",
            kind=TransactionKind.REFUND,
            lines=[*lines, PostingLine(source, wanted)],
            metadata={"payment": locked.public_id, "refund": refund.public_id},
            merchant_id=merchant_id,
        )
        locked.amount_refunded += wanted
        locked.save()
        refund_audit(refund, "")
        payment_emit(locked, "payment.refunded")
        if locked.source_account_id:
            refund_succeeded(refund)
            return refund, None
        processor_mode_check(livemode=locked.livemode)
        op = ProcessorOperation.objects.create(
            payment=locked,
            refund=refund,
            kind=Kind.REFUND,
            reference=f"{refund.public_id}:refund",
            amount=wanted.amount,
        )
        return refund, op

    resumed = request_resume(merchant_pk=payment.merchant_id)
    if resumed is not None:
        return Refund.objects.select_related("payment").get(pk=resumed.refund_id)
    refund, op = begin()
    if op is not None:
        operation_finish(op, operation_send(op, payment))
    return Refund.objects.select_related("payment").get(pk=refund.pk)
