"""The processor's answers: applied to their operation once, and a keyed request resumed.

An answer is applied in one transaction with the payment locked: the operation moves out of
``pending`` by a conditional UPDATE, so the request, its retry and the resolver apply it once.
"""

import logging
from decimal import Decimal

from django.utils import timezone
from moneyed import Money

from accounts.services import ledger_atomic
from payments.models import Payment, ProcessorOperation, Refund
from payments.persistence import payment_lock
from payments.processor import OperationStatus, ProcessorResult
from payments.services.disputes import dispute_open
from payments.services.operations import NOT_SENT_CODE, NOT_SENT_MESSAGE, Kind, OpStatus, operation_send
from payments.services.outcomes import capture_book, payment_canceled, refund_failed, refund_succeeded
from payments.services.transitions import authorization_expiry, payment_authorized, payment_transition
from payments.states import Action, Status
from paysys.errors import PaysysError, ServiceUnavailableError
from paysys.idempotency.services import idempotency_resume_point

logger = logging.getLogger("paysys.payments")


def _payment_declined(payment: Payment, result: ProcessorResult) -> None:
    """The processor declined: the payment fails with the decline's code and message."""
    payment.failure_code, payment.failure_message = result.decline_code, result.message[:255]
    payment_transition(
        payment,
        action=Action.RESOLVE,
        target=Status.FAILED,
        events=["payment.failed"],
        reason_code=result.decline_code,
    )


def _apply_authorize(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    if result is None:
        payment.failure_code, payment.failure_message = NOT_SENT_CODE, NOT_SENT_MESSAGE
        payment_transition(payment, action=Action.RESOLVE, target=Status.FAILED, events=["payment.failed"])
        return
    payment.processor_authorization = result.authorization
    if result.status == OperationStatus.DECLINED:
        _payment_declined(payment, result)
    elif result.status == OperationStatus.REQUIRES_ACTION:
        payment.expires_at = authorization_expiry(timezone.now())
        payment_transition(
            payment, action=Action.RESOLVE, target=Status.REQUIRES_ACTION, events=["payment.requires_action"]
        )
    else:
        payment_authorized(payment, action=Action.RESOLVE, network_score=result.risk_score)


def _apply_confirm(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    if result is None:
        payment_transition(
            payment, action=Action.RESOLVE, target=Status.REQUIRES_ACTION, reason_code="not_sent"
        )
    elif result.status == OperationStatus.SUCCEEDED:
        payment_authorized(payment, action=Action.RESOLVE, network_score=result.risk_score)
    else:
        payment.amount_capturable = Decimal(0)
        _payment_declined(payment, result)


def _apply_capture(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    if result is None:
        payment_transition(
            payment, action=Action.RESOLVE, target=Status.REQUIRES_CAPTURE, reason_code="not_sent"
        )
    elif result.status == OperationStatus.SUCCEEDED:
        post = capture_book(payment, captured=Money(op.amount, payment.currency))
        payment_transition(
            payment,
            action=Action.RESOLVE,
            target=Status.SUCCEEDED,
            events=["payment.captured", "payment.succeeded"],
        )
        post()
    else:
        payment.amount_capturable = Decimal(0)
        _payment_declined(payment, result)


def _apply_void(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    if result is None:
        payment_transition(
            payment, action=Action.RESOLVE, target=Status(op.params["from_status"]), reason_code="not_sent"
        )
        return
    # A declined void still ends the payment: the authorization lapses at the network anyway.
    payment_canceled(payment, action=Action.RESOLVE, reason=op.params.get("reason", ""))


def _apply_refund(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    refund = Refund.objects.select_for_update(no_key=True).get(pk=op.refund_id)
    if result is not None and result.status == OperationStatus.SUCCEEDED:
        refund_succeeded(refund)
    else:
        refund_failed(payment, refund, reason=result.decline_code if result else "not_sent")


_APPLIERS = {
    Kind.AUTHORIZE: _apply_authorize,
    Kind.CONFIRM: _apply_confirm,
    Kind.CAPTURE: _apply_capture,
    Kind.VOID: _apply_void,
    Kind.REFUND: _apply_refund,
}


@ledger_atomic
def operation_apply(*, operation: ProcessorOperation, result: ProcessorResult | None) -> Payment | None:
    """Apply the processor's answer to a pending operation, once; ``None`` means it was never sent.

    Returns the payment as the answer left it, or ``None`` when the operation had already been
    applied (by the resolver, or a concurrent request).
    """
    payment = payment_lock(payment_pk=operation.payment_id)
    answer = {
        "status": OpStatus.NOT_SENT if result is None else OpStatus(result.status.value),
        "result": result.as_dict() if result is not None else {},
        "resolved_at": timezone.now(),
    }
    # Answered once: the row moves out of ``pending`` here or not at all. What else it holds
    # (kind, amount, params, refund) never changes after ``operation_begin``.
    if not ProcessorOperation.objects.filter(pk=operation.pk, status=OpStatus.PENDING).update(**answer):
        return None
    for name, value in answer.items():
        setattr(operation, name, value)
    _APPLIERS[operation.kind](payment, operation, result)
    return payment


def network_dispute(payment: Payment, result: ProcessorResult) -> bool:
    """The network reported a chargeback with the capture (the dispute test card): open it now.

    The capture stands whatever happens here; a dispute that cannot be booked (a frozen merchant
    account) is logged as an error for an operator to open with ``dispute_open``. Returns whether
    the network reported one (the payment may have changed since the caller read it).
    """
    if not (result.succeeded and result.dispute_reason):
        return False
    try:
        dispute_open(payment_id=payment.public_id, reason=result.dispute_reason, by_network=True)
    except PaysysError:
        logger.exception("the network's dispute on %s could not be opened", payment.public_id)
    return True


def operation_finish(op: ProcessorOperation, outcome: ProcessorResult | str | None) -> Payment | None:
    """Apply a known outcome of ``op`` and what the network reported with it; ``None`` when the
    outcome is unknown (a timeout) or was applied already."""
    if outcome == "timeout":
        return None
    payment = operation_apply(operation=op, result=outcome)
    if payment is not None and outcome is not None and op.kind == Kind.CAPTURE:
        network_dispute(payment, outcome)
    return payment


# Operations after which "not sent" returns the payment to where it was: a retry runs them
# afresh; after an authorization or a refund "not sent" is a final answer.
_RETRIED_WHEN_NOT_SENT = frozenset({Kind.CONFIRM, Kind.CAPTURE, Kind.VOID})


def request_resume(*, merchant_pk: int) -> ProcessorOperation | None:
    """Resume a keyed request a previous attempt of which committed an operation and died.

    The operation is the key's recovery point (``paysys.idempotency``). Still pending, it is
    sent again under its reference (the processor answers a reference it has seen with its
    first result, and does now what it never received) and applied; a processor that refuses
    to be called leaves it pending (a 503). Returns it, for the use
    case to go on from its payment's state; ``None`` for a first attempt, or when the request
    is to run afresh (the processor never received an operation that may be tried again).
    """
    reference = idempotency_resume_point()
    if not reference:
        return None
    op = (
        ProcessorOperation.objects.select_related("payment__payment_method")
        .filter(reference=reference, payment__merchant_id=merchant_pk)
        .first()
    )
    if op is None:
        return None
    if op.status == OpStatus.PENDING:
        outcome = operation_send(op, op.payment)
        if outcome is None:
            # Refused now (an open breaker, an outage), but the attempt that died may have
            # reached the processor: unknown. It stays pending for the next retry or the resolver.
            raise ServiceUnavailableError(
                "The processor is unavailable; try again.", payment=op.payment.public_id
            )
        operation_finish(op, outcome)
        return op
    if op.status == OpStatus.NOT_SENT and op.kind in _RETRIED_WHEN_NOT_SENT:
        return None
    return op
