"""Processor operations: recorded before they are sent, sent under their reference, asked about.

An operation's ``reference`` is what the processor dedupes on, so an operation sent again (a
resumed request, the resolver) is one operation at the processor. A send's outcome is the
processor's result, ``"timeout"`` (unknown) or ``None`` (the processor never received it).
"""

import functools
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from moneyed import Money

from payments.models import Payment, ProcessorOperation
from payments.processor import (
    ProcessorResult,
    ProcessorTimeoutError,
    ProcessorUnavailableError,
    processor_call,
    processor_mode_check,
)
from paysys.idempotency.services import idempotency_checkpoint

Kind = ProcessorOperation.Kind
OpStatus = ProcessorOperation.OpStatus
OPERATION_SUFFIX_BYTES = 4
NOT_SENT_CODE = "processing_error"
NOT_SENT_MESSAGE = "The processor did not receive the request; nothing was charged."


def operation_begin(
    payment: Payment, *, kind: str, amount: Money | None = None, params: Mapping[str, Any] | None = None
) -> ProcessorOperation:
    """Record the operation about to be sent; its reference is what the processor dedupes on.

    A retry of the same operation reuses its row and reference; a new operation (a second void
    after one that was never sent) gets a new reference.
    """
    processor_mode_check(livemode=payment.livemode)
    return ProcessorOperation.objects.create(
        payment=payment,
        kind=kind,
        reference=f"{payment.public_id}:{kind}:{secrets.token_hex(OPERATION_SUFFIX_BYTES)}",
        amount=None if amount is None else amount.amount,
        params=dict(params or {}),
    )


def _call(call: Callable[[], ProcessorResult | None]) -> ProcessorResult | str | None:
    """Run a processor call: the result, ``"timeout"`` (unknown), or ``None`` (not sent)."""
    try:
        return call()
    except ProcessorTimeoutError:
        return "timeout"
    except ProcessorUnavailableError:
        return None


def operation_send(op: ProcessorOperation, payment: Payment) -> ProcessorResult | str | None:
    """Send ``op`` (again, under the same reference) for ``payment``: see ``_call`` for the outcome.

    Under an ``Idempotency-Key`` the request's work so far commits first, with the operation's
    reference as the point a retry resumes at: no rollback can lose an operation the processor
    keeps. ``op.amount`` and ``op.params`` hold everything a retry needs to send it again.
    """
    idempotency_checkpoint(recovery_point=op.reference)
    # The mode's processor (``processor_call``): a live operation without a live processor was
    # refused before it was recorded (``processor_mode_check``); resumed, its outcome is unknown.
    send = functools.partial(processor_call, op.kind, livemode=payment.livemode, reference=op.reference)
    amount = Money(op.amount, payment.currency) if op.amount is not None else None
    authorization = payment.processor_authorization
    if op.kind == Kind.AUTHORIZE:
        return _call(lambda: send(token=_token(payment), amount=amount))
    if op.kind == Kind.CONFIRM:
        return _call(
            lambda: send(authorization=authorization, challenge_passed=op.params["challenge_passed"])
        )
    if op.kind == Kind.VOID:
        return _call(lambda: send(authorization=authorization))
    # capture and refund: an amount of the authorization
    return _call(lambda: send(authorization=authorization, amount=amount))


def _token(payment: Payment) -> str:
    return payment.payment_method.processor_token


def operation_ask(op: ProcessorOperation) -> ProcessorResult | str | None:
    """What the processor says about ``op``: its result, ``None`` (it never received it), or
    ``"timeout"`` when it cannot be asked. A processor that refuses the question (an open breaker,
    an outage) has said nothing about the operation: unknown, never "not sent"."""
    try:
        return processor_call("status", livemode=op.payment.livemode, reference=op.reference)
    except (ProcessorTimeoutError, ProcessorUnavailableError):
        return "timeout"
