"""The risk review queue: an operator approves (capture proceeds) or declines (void)."""

from accounts.services import ledger_atomic
from payments.models import Payment
from payments.persistence import payment_read
from payments.services.cancel import void_run
from payments.services.capture import payment_after
from payments.services.transitions import payment_by_public_id, payment_lock_for, payment_transition
from payments.states import Action, Status
from paysys.audit.context import ACTOR_OPERATOR


def payment_review_approve(*, payment_id: str, operator_id: str) -> Payment:
    """An operator clears a payment held for review: it is captured if automatic, else awaits capture."""

    @ledger_atomic
    def approve() -> Payment:
        payment = payment_lock_for(
            payment_pk=payment_by_public_id(payment_id).pk, action=Action.REVIEW_APPROVE
        )
        payment_transition(
            payment,
            action=Action.REVIEW_APPROVE,
            target=Status.REQUIRES_CAPTURE,
            events=["payment.authorized"],
            actor_type=ACTOR_OPERATOR,
            actor_id=operator_id,
            reason_code="review_approved",
        )
        return payment

    return payment_after(approve())


def payment_review_decline(*, payment_id: str, operator_id: str) -> Payment:
    """An operator rejects a payment held for review: its authorization is voided (``canceled``)."""
    pk = payment_by_public_id(payment_id).pk
    void_run(
        payment_pk=pk,
        action=Action.REVIEW_DECLINE,
        reason="fraudulent",
        actor_type=ACTOR_OPERATOR,
        actor_id=operator_id,
    )
    return payment_read(pk)
