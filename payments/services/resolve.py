"""Resolving unknown outcomes: the beat task that asks the processor about pending operations."""

import contextlib
from datetime import timedelta

from django.utils import timezone

from payments.models import Payment, ProcessorOperation
from payments.persistence import payment_read
from payments.services.answers import operation_finish
from payments.services.capture import payment_after
from payments.services.operations import Kind, OpStatus, operation_ask
from payments.states import PaymentUnexpectedStateError, Status
from paysys.errors import CardError, ServiceUnavailableError

# Operations younger than this may still have their own request waiting for the answer.
RESOLVE_MIN_AGE = timedelta(seconds=30)
RESOLVE_BATCH = 200


def payments_resolve_processing(*, min_age: timedelta = RESOLVE_MIN_AGE, limit: int = RESOLVE_BATCH) -> dict:
    """Ask the processor about every operation whose answer is unknown and apply what it says.

    Never guesses: an operation stays pending while the processor cannot be asked. Also retries
    the automatic capture of payments whose capture the processor refused before acting.
    """
    cutoff = timezone.now() - min_age
    ops = list(
        ProcessorOperation.objects.filter(status=OpStatus.PENDING, created__lte=cutoff).order_by("pk")[:limit]
    )
    counts = {"resolved": 0, "not_sent": 0, "unknown": 0, "captured": 0}
    for op in ops:
        answer = operation_ask(op)
        if answer == "timeout":
            counts["unknown"] += 1
            continue
        payment = operation_finish(op, answer)
        if payment is None:
            continue
        counts["not_sent" if answer is None else "resolved"] += 1
        if answer is not None and op.kind in {Kind.AUTHORIZE, Kind.CONFIRM}:
            # A decline is recorded on the payment; there is no caller to tell.
            with contextlib.suppress(CardError, ServiceUnavailableError, PaymentUnexpectedStateError):
                payment_after(payment)
    # An automatic capture the processor refused (not sent) left its payment authorized: retry it.
    stalled = Payment.objects.filter(
        status=Status.REQUIRES_CAPTURE, capture_method=Payment.CaptureMethod.AUTOMATIC, updated__lte=cutoff
    ).values_list("pk", flat=True)[:limit]
    for pk in stalled:
        with contextlib.suppress(CardError, ServiceUnavailableError, PaymentUnexpectedStateError):
            payment_after(payment_read(pk))
            counts["captured"] += 1
    return counts
