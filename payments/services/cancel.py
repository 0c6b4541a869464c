"""Voiding an uncaptured payment: canceled by the merchant, or expired after its TTL."""

from datetime import datetime

from django.utils import timezone

from accounts.services import ledger_atomic
from payments.models import Payment, ProcessorOperation
from payments.persistence import payment_read
from payments.services.answers import operation_apply, request_resume
from payments.services.operations import Kind, operation_begin, operation_send
from payments.services.outcomes import payment_canceled
from payments.services.transitions import payment_lock_for, payment_transition
from payments.states import Action, PaymentUnexpectedStateError, Status
from paysys.audit.context import ACTOR_SYSTEM
from paysys.errors import ServiceUnavailableError

EXPIRE_BATCH = 500


def void_run(
    *,
    payment_pk: int,
    action: Action,
    reason: str,
    actor_type: str | None = None,
    actor_id: str | None = None,
) -> None:
    @ledger_atomic
    def begin() -> tuple[Payment, ProcessorOperation | None]:
        payment = payment_lock_for(payment_pk=payment_pk, action=action)
        if payment.hold_id or not payment.processor_authorization:
            payment_canceled(payment, action=action, reason=reason, actor_type=actor_type, actor_id=actor_id)
            return payment, None
        op = operation_begin(
            payment, kind=Kind.VOID, params={"from_status": payment.status, "reason": reason}
        )
        payment_transition(
            payment, action=action, target=Status.PROCESSING, actor_type=actor_type, actor_id=actor_id
        )
        return payment, op

    payment, op = begin()
    if op is None:
        return
    outcome = operation_send(op, payment)
    if outcome != "timeout":
        operation_apply(operation=op, result=outcome)
        if outcome is None:
            raise ServiceUnavailableError("The processor is unavailable; try again.")


def payment_cancel(*, payment: Payment, reason: str = "requested_by_customer") -> Payment:
    """Void an uncaptured payment (``requires_action``, ``requires_review`` or ``requires_capture``)."""
    if request_resume(merchant_pk=payment.merchant_id) is None:
        void_run(payment_pk=payment.pk, action=Action.CANCEL, reason=reason)
    return payment_read(payment.pk)


def payment_expire(*, payment: Payment) -> Payment:
    """Void one uncaptured authorization now, as its expiry would (``canceled``, reason ``expired``)."""
    void_run(payment_pk=payment.pk, action=Action.EXPIRE, reason="expired", actor_type=ACTOR_SYSTEM)
    return payment_read(payment.pk)


def payments_expire_authorizations(*, now: datetime | None = None) -> int:
    """Void every uncaptured authorization past its ``expires_at`` (each in its own transactions)."""
    now = now or timezone.now()
    due = list(
        Payment.objects.filter(
            status__in=[Status.REQUIRES_CAPTURE, Status.REQUIRES_ACTION, Status.REQUIRES_REVIEW],
            expires_at__lte=now,
        )
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)[:EXPIRE_BATCH]
    )
    expired = 0
    for pk in due:
        try:
            void_run(payment_pk=pk, action=Action.EXPIRE, reason="expired", actor_type=ACTOR_SYSTEM)
        except (PaymentUnexpectedStateError, ServiceUnavailableError):
            continue  # captured meanwhile, or the processor is down: the next run retries
        expired += 1
    return expired
