"""Capturing a payment (all or part), and finishing any use case: the automatic capture when
due, a decline turned into ``CardError``."""

import contextlib

from moneyed import Money

from accounts.services import ledger_atomic
from payments.models import Payment, ProcessorOperation
from payments.persistence import payment_read
from payments.services.answers import network_dispute, operation_apply, request_resume
from payments.services.operations import NOT_SENT_CODE, Kind, operation_begin, operation_send
from payments.services.outcomes import capture_book
from payments.services.transitions import payment_lock_for, payment_transition
from payments.states import Action, PaymentUnexpectedStateError, Status
from paysys.errors import CardError, InvalidRequestError, ServiceUnavailableError


def _capture_amount(payment: Payment, amount: Money | None) -> Money:
    capturable = payment.amount_capturable
    if amount is None:
        return capturable
    if amount.currency.code != payment.currency:
        raise InvalidRequestError("The capture is in the payment's currency.", param="amount")
    if amount > capturable:
        raise InvalidRequestError(
            f"The amount to capture exceeds the capturable {capturable}.",
            code="amount_too_large",
            param="amount",
        )
    if amount < payment.amount_transferred:
        raise InvalidRequestError(
            "The amount to capture is less than the split transfers.", code="amount_too_small", param="amount"
        )
    return amount


def capture_run(*, payment_pk: int, amount: Money | None) -> Payment:
    """Capture ``amount`` (all that is capturable when ``None``); return the payment as it ends up."""

    @ledger_atomic
    def begin() -> tuple[Payment, ProcessorOperation | None]:
        payment = payment_lock_for(payment_pk=payment_pk, action=Action.CAPTURE)
        captured = _capture_amount(payment, amount)
        if payment.hold_id:
            post = capture_book(payment, captured=captured)
            payment_transition(
                payment,
                action=Action.CAPTURE,
                target=Status.SUCCEEDED,
                events=["payment.captured", "payment.succeeded"],
            )
            post()
            return payment, None
        op = operation_begin(payment, kind=Kind.CAPTURE, amount=captured)
        payment_transition(payment, action=Action.CAPTURE, target=Status.PROCESSING)
        return payment, op

    payment, op = begin()
    if op is None:
        return payment
    outcome = operation_send(op, payment)
    if outcome == "timeout":
        return payment
    captured = operation_apply(operation=op, result=outcome)
    if outcome is None:
        raise ServiceUnavailableError("The processor is unavailable; try again.", payment=payment.public_id)
    if captured is None or network_dispute(payment, outcome):
        return payment_read(payment_pk)
    return captured


def payment_after(payment: Payment) -> Payment:
    """Finish a use case: capture automatically when due, and turn a decline into ``CardError``.

    ``payment`` is the payment as the use case's last transaction left it (``payment_read``
    when that is not at hand); the payment returned is the one the caller shows.
    """
    if (
        payment.status == Status.REQUIRES_CAPTURE
        and payment.capture_method == Payment.CaptureMethod.AUTOMATIC
    ):
        payment = capture_run(payment_pk=payment.pk, amount=None)
    if payment.status == Status.FAILED and payment.failure_code:
        raise CardError(
            payment.failure_message or "Your card was declined.",
            code="card_declined" if payment.failure_code != NOT_SENT_CODE else NOT_SENT_CODE,
            decline_code=payment.failure_code,
            payment=payment.public_id,
        )
    return payment


def resumed_after(payment_pk: int) -> Payment:
    """``payment_after`` for a resumed request; the payment as it is when another actor (the resolver,
    an operator) is moving it meanwhile."""
    with contextlib.suppress(PaymentUnexpectedStateError):
        return payment_after(payment_read(payment_pk))
    return payment_read(payment_pk)


def payment_capture(*, payment: Payment, amount: Money | None = None) -> Payment:
    """Capture all or part of an authorized payment; the rest of the authorization is released."""
    if request_resume(merchant_pk=payment.merchant_id) is not None:
        return resumed_after(payment.pk)
    return payment_after(capture_run(payment_pk=payment.pk, amount=amount))
