"""The payment objects as the API shows them: one rendering for responses and event payloads.

Amounts leave as integers in the currency's minor unit (``paysys.money``), currencies in lower
case, times in ISO 8601 UTC. Event data (``{"object": ...}``) uses the same functions, so a
webhook shows exactly what ``GET`` would have shown at that moment.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from moneyed import Money

from payments.models import Dispute, Payment, PaymentMethod, Refund, TopUp
from paysys.money import money_to_minor


def _minor(value: Decimal, currency: str) -> int:
    return money_to_minor(Money(value, currency))


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def payment_method_object(pm: PaymentMethod) -> dict[str, Any]:
    return {
        "id": pm.public_id,
        "object": "payment_method",
        "type": pm.type,
        "card": {
            "brand": pm.brand,
            "last4": pm.last4,
            "exp_month": pm.exp_month,
            "exp_year": pm.exp_year,
            "fingerprint": pm.fingerprint,
        },
        "created": _time(pm.created),
        "livemode": pm.livemode,
    }


def payment_object(payment: Payment) -> dict[str, Any]:
    cur = payment.currency
    pm = payment.payment_method
    return {
        "id": payment.public_id,
        "object": "payment",
        "amount": _minor(payment.amount, cur),
        "amount_capturable": _minor(payment.amount_capturable, cur),
        "amount_captured": _minor(payment.amount_captured, cur),
        "amount_refunded": _minor(payment.amount_refunded, cur),
        "currency": cur.lower(),
        "status": payment.status,
        "capture_method": payment.capture_method,
        "payment_method": None
        if pm is None
        else {
            "id": pm.public_id,
            "type": pm.type,
            "card": {
                "brand": pm.brand,
                "last4": pm.last4,
                "exp_month": pm.exp_month,
                "exp_year": pm.exp_year,
                "fingerprint": pm.fingerprint,
            },
        },
        "source_account": payment.source_account.public_id if payment.source_account_id else None,
        "fee": _minor(payment.fee, cur),
        "net": _minor(payment.net, cur),
        "refunded": payment.refunded,
        "disputed": payment.disputed,
        "failure_code": payment.failure_code or None,
        "failure_message": payment.failure_message or None,
        "cancellation_reason": payment.cancellation_reason or None,
        "transfer_data": [
            {"destination": t["destination"], "amount": _minor(Decimal(t["amount"]), cur)}
            for t in payment.transfer_data
        ],
        "risk_score": payment.risk_score,
        "receipt_email": payment.receipt_email or None,
        "description": payment.description or None,
        "metadata": payment.metadata,
        "created": _time(payment.created),
        "captured_at": _time(payment.captured_at),
        "livemode": payment.livemode,
    }


def refund_object(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.public_id,
        "object": "refund",
        "payment": refund.payment.public_id,
        "amount": _minor(refund.amount, refund.currency),
        "currency": refund.currency.lower(),
        "status": refund.status,
        "reason": refund.reason or None,
        "failure_reason": refund.failure_reason or None,
        "metadata": refund.metadata,
        "created": _time(refund.created),
        "livemode": refund.livemode,
    }


def dispute_object(dispute: Dispute) -> dict[str, Any]:
    return {
        "id": dispute.public_id,
        "object": "dispute",
        "payment": dispute.payment.public_id,
        "amount": _minor(dispute.amount, dispute.currency),
        "fee": _minor(dispute.fee, dispute.currency),
        "currency": dispute.currency.lower(),
        "status": dispute.status,
        "reason": dispute.reason,
        "evidence": {
            "text": dispute.evidence_text or None,
            "submitted_at": _time(dispute.evidence_submitted_at),
        },
        "evidence_due_by": _time(dispute.evidence_due_by),
        "created": _time(dispute.created),
        "livemode": dispute.livemode,
    }


def top_up_object(top_up: TopUp) -> dict[str, Any]:
    """The top-up with its payment's outcome: ``fee`` and ``net`` are what its capture booked."""
    payment = top_up.payment
    cur = top_up.currency
    return {
        "id": top_up.public_id,
        "object": "top_up",
        "account": top_up.account.public_id,
        "amount": _minor(top_up.amount, cur),
        "currency": cur.lower(),
        "fee": _minor(payment.fee, cur),
        "net": _minor(payment.net, cur),
        "payment": payment.public_id,
        "status": top_up.status,
        "failure_code": top_up.failure_code,
        "metadata": top_up.metadata,
        "created": _time(top_up.created),
        "livemode": top_up.livemode,
    }
