"""What a payment's outcomes book: a capture posted, a payment canceled, a refund succeeded or
failed, and the rule by which a merchant is debited for a refund or a dispute.

These join the caller's transaction and are shared by the use cases and by the processor's
answers (``payments.services.answers``); the ledger postings are the ones the package's
docstring lists.
"""

from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone
from moneyed import Money

from accounts.models import AccountKind, JournalTransaction, TransactionKind
from accounts.services import (
    PostingLine,
    accounts_lock,
    hold_capture,
    hold_release,
    ledger_post,
    ledger_reverse,
    merchant_accounts_open,
    platform_account_get,
)
from merchants.selectors import merchant_fee_terms_get
from payments.models import Payment, Refund
from payments.services.events import refund_emit
from payments.services.transitions import merchant_pending_get, payment_transition
from payments.states import Action, Status
from paysys import metrics
from paysys.audit.services import audit_record
from paysys.errors import InsufficientFundsError
from paysys.money import fee_compute


def capture_book(payment: Payment, *, captured: Money) -> Callable[[], None]:
    """Set a locked payment's captured amounts and fee; return the function that posts them.

    The caller records the transition first and posts last: the posting debits the platform's
    ``card_clearing`` (a row every capture locks), so the lock is taken as late as possible in
    the transaction and held for as little as possible.

    A card capture is one journal transaction: ``card_clearing`` -C, merchant ``pending``
    +(C - F - T), platform ``fees`` +F, each destination's ``pending`` +T. The merchant's pending
    account is only credited, so concurrent captures of one merchant never queue on its row.
    A wallet capture posts the hold into ``pending`` (``hold_capture``), then fee and transfers
    move out of ``pending`` in a second transaction.
    """
    merchant_id = payment.merchant.public_id
    currency = payment.currency
    pay = payment.public_id
    pending = merchant_pending_get(merchant_id=merchant_id, currency=currency, livemode=payment.livemode)
    transfers = [(t["destination"], Money(Decimal(t["amount"]), currency)) for t in payment.transfer_data]
    transferred = sum((amount for _, amount in transfers), Money(0, currency))
    terms = merchant_fee_terms_get(merchant=payment.merchant, currency=currency)
    fee = min(
        fee_compute(captured, basis_points=terms.basis_points, fixed=terms.fixed), captured - transferred
    )
    out_lines: list[PostingLine] = []
    if fee.amount > 0:
        out_lines.append(
            PostingLine(
                platform_account_get(kind=AccountKind.FEES, currency=currency, livemode=payment.livemode).pk,
                fee,
            )
        )
    for destination, amount in transfers:
        target = merchant_pending_get(merchant_id=destination, currency=currency, livemode=payment.livemode)
        out_lines.append(PostingLine(target.pk, amount))
    kept = captured - fee - transferred
    clearing = (
        None
        if payment.hold_id
        else platform_account_get(
            kind=AccountKind.CARD_CLEARING, currency=currency, livemode=payment.livemode
        )
    )
    for destination, amount in transfers:
        audit_record(
            event_type="payment.split_transferred",
            object_type="payment",
            object_id=pay,
            amount=amount.amount,
            currency=currency,
            merchant_id=merchant_id,
            metadata={"destination": destination},
        )
    payment.amount_captured = captured
    payment.amount_capturable = Decimal(0)
    payment.fee = fee
    payment.captured_at = timezone.now()

    def post() -> None:
        if clearing is None:
            hold_capture(
                hold_id=payment.hold_id,
                amount=captured,
                to_account_id=pending.pk,
                reference=f"capture:{pay}",
                kind=TransactionKind.CAPTURE,
                metadata={"payment": pay},
                merchant_id=merchant_id,
            )
            if out_lines:
                ledger_post(
                    reference=f"fee:{pay}",
                    kind=TransactionKind.FEE,
                    lines=[PostingLine(pending.pk, -(fee + transferred)), *out_lines],
                    metadata={"payment": pay},
                    merchant_id=merchant_id,
                )
            return
        lines = [PostingLine(clearing.pk, -captured), *out_lines]
        if kept.amount > 0:
            lines.append(PostingLine(payment.credit_account_id or pending.pk, kept))
        ledger_post(
            reference=f"capture:{pay}",
            kind=TransactionKind.FUNDING if payment.credit_account_id else TransactionKind.CAPTURE,
            lines=lines,
            metadata={"payment": pay, "fee": str(fee.amount)},
            merchant_id=merchant_id,
        )

    return post


def payment_canceled(
    payment: Payment,
    *,
    action: Action,
    reason: str,
    actor_type: str | None = None,
    actor_id: str | None = None,
) -> None:
    if payment.hold_id:
        hold_release(hold_id=payment.hold_id)
    payment.amount_capturable = Decimal(0)
    payment.canceled_at = timezone.now()
    payment.cancellation_reason = reason
    payment_transition(
        payment,
        action=action,
        target=Status.CANCELED,
        events=["payment.canceled"],
        reason_code=reason,
        actor_type=actor_type,
        actor_id=actor_id,
    )


def merchant_debit_lines(
    *, merchant_id: str, livemode: bool, amount: Money, allow_shortfall: bool
) -> tuple[list[PostingLine], Money]:
    """Debit the merchant: ``available``, then ``pending``, then ``reserve``; return (lines, shortfall).

    The accounts are locked (ascending id) before their balances are read, so the split holds
    until commit. Without ``allow_shortfall`` a shortfall raises ``InsufficientFundsError``.
    """
    accounts = merchant_accounts_open(
        merchant_id=merchant_id, currency=amount.currency.code, livemode=livemode
    )
    order = [accounts[AccountKind.AVAILABLE], accounts[AccountKind.PENDING], accounts[AccountKind.RESERVE]]
    locked = accounts_lock([a.pk for a in order])
    remaining = amount.amount
    lines = []
    for account in order:
        state = locked[account.pk]
        spendable = state.posted_base + state.shard_sum - state.pending
        take = min(max(spendable, Decimal(0)), remaining)
        if take > 0:
            lines.append(PostingLine(account.pk, Money(-take, amount.currency)))
            remaining -= take
    if remaining > 0 and not allow_shortfall:
        raise InsufficientFundsError(
            "The merchant's available, pending and reserve balances together cannot cover this amount.",
            code="balance_insufficient",
            param="amount",
        )
    return lines, Money(remaining, amount.currency)


def refund_audit(refund: Refund, previous: str) -> None:
    audit_record(
        event_type=f"refund.{refund.status}",
        object_type="refund",
        object_id=refund.public_id,
        previous_state=previous,
        new_state=refund.status,
        amount=refund.amount.amount,
        currency=refund.currency,
        merchant_id=refund.payment.merchant.public_id,
        metadata={"payment": refund.payment.public_id},
    )


def refund_succeeded(refund: Refund) -> None:
    previous = refund.status
    refund.status = Refund.RefundStatus.SUCCEEDED
    refund.save()
    refund_audit(refund, previous)
    refund_emit(refund, "refund.succeeded")
    metrics.refund_record(status=refund.status)


def refund_failed(payment: Payment, refund: Refund, *, reason: str) -> None:
    original = JournalTransaction.objects.values_list("pk", flat=True).get(
        reference=f"refund:{refund.public_id}"
    )
    ledger_reverse(transaction_id=original, reference=f"refund_failed:{refund.public_id}")
    payment.amount_refunded -= refund.amount
    payment.save()
    previous = refund.status
    refund.status = Refund.RefundStatus.FAILED
    refund.failure_reason = reason[:64]
    refund.save()
    refund_audit(refund, previous)
    refund_emit(refund, "refund.failed")
    metrics.refund_record(status=refund.status)
