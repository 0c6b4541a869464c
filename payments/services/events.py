"""What payments tell merchants: the outbox events of payments, refunds, disputes and top-ups.

The one place the services render API objects (``payments.serializers``) into event payloads.
"""

from payments.models import Dispute, Payment, Refund, TopUp
from payments.serializers import dispute_object, payment_object, refund_object, top_up_object
from payments.states import Status
from paysys.events.services import event_emit

# A top-up's events, sent with its payment's final transitions.
TOP_UP_EVENTS = {
    Status.SUCCEEDED: "top_up.succeeded",
    Status.FAILED: "top_up.failed",
    Status.CANCELED: "top_up.failed",
}


def payment_emit(payment: Payment, event_type: str) -> None:
    event_emit(
        event_type=event_type,
        merchant_id=payment.merchant.public_id,
        object_type="payment",
        data={"object": payment_object(payment)},
        livemode=payment.livemode,
    )


def refund_emit(refund: Refund, event_type: str) -> None:
    event_emit(
        event_type=event_type,
        merchant_id=refund.payment.merchant.public_id,
        object_type="refund",
        data={"object": refund_object(refund)},
        livemode=refund.livemode,
    )


def dispute_emit(dispute: Dispute, event_type: str) -> None:
    event_emit(
        event_type=event_type,
        merchant_id=dispute.payment.merchant.public_id,
        object_type="dispute",
        data={"object": dispute_object(dispute)},
        livemode=dispute.livemode,
    )


def top_up_emit(payment: Payment, target: Status) -> None:
    """A top-up's own event, sent with its payment's final transition (none for other payments)."""
    if not payment.credit_account_id or target not in TOP_UP_EVENTS:
        return
    top_up = TopUp.objects.select_related("account").get(payment=payment)
    top_up.payment = payment
    event_emit(
        event_type=TOP_UP_EVENTS[target],
        merchant_id=payment.merchant.public_id,
        object_type="top_up",
        data={"object": top_up_object(top_up)},
        livemode=payment.livemode,
    )
