"""A payment's moves: each is checked against the state table (``payments.states``), saved,
and recorded (audit row and outbox events) in the caller's transaction."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import AccountKind, LedgerAccount
from accounts.services import merchant_account_get
from payments.models import Payment
from payments.persistence import payment_lock
from payments.services.events import payment_emit, top_up_emit
from payments.states import Action, Status, target_check, transition_check
from paysys import metrics
from paysys.audit.services import audit_record
from paysys.errors import ConflictError, NotFoundError


class PaymentsConflictError(ConflictError):
    default_code = "payment_unexpected_state"


def payment_lock_for(*, payment_pk: int, action: Action) -> Payment:
    payment = payment_lock(payment_pk=payment_pk)
    transition_check(action=action, status=payment.status)
    return payment


def payment_by_public_id(payment_id: str) -> Payment:
    payment = Payment.objects.filter(public_id=payment_id).select_related("merchant").first()
    if payment is None:
        raise NotFoundError(f"No such payment: '{payment_id}'", param="payment")
    return payment


def authorization_expiry(now: datetime) -> datetime:
    return now + timedelta(days=settings.PAYSYS_AUTHORIZATION_TTL_DAYS)


def payment_transition(
    payment: Payment,
    *,
    action: Action,
    target: Status,
    events: Sequence[str] = (),
    reason_code: str = "",
    metadata: Mapping[str, Any] | None = None,
    actor_type: str | None = None,
    actor_id: str | None = None,
) -> None:
    """Move a locked payment to ``target`` and record it (audit + events) in this transaction.

    Every transition emits at least one event: the given ones, else ``payment.<target>``
    (``payment.processing`` when an operation is sent, for instance).
    """
    target_check(action=action, target=target)
    events = list(events) or [f"payment.{target.value}"]
    previous = payment.status
    payment.status = target
    payment.save()
    audit_record(
        event_type=f"payment.{action.value}",
        object_type="payment",
        object_id=payment.public_id,
        previous_state=previous,
        new_state=target,
        amount=payment.amount.amount,
        currency=payment.currency,
        merchant_id=payment.merchant.public_id,
        reason_code=reason_code[:64],
        metadata=dict(metadata or {}),
        actor_type=actor_type,
        actor_id=actor_id,
    )
    for event_type in events:
        payment_emit(payment, event_type)
    top_up_emit(payment, target)
    if previous != target:
        metrics.payment_record(status=target)


def payment_authorized(payment: Payment, *, action: Action, network_score: int) -> None:
    """An approved authorization: review when the score says so, else ready to capture."""
    now = timezone.now()
    payment.authorized_at = payment.authorized_at or now
    payment.expires_at = authorization_expiry(now)
    payment.amount_capturable = payment.amount
    if network_score:
        payment.risk_score = min(100, payment.risk_score + network_score)
        payment.risk_reasons = [*payment.risk_reasons, "network_score"]
    if payment.risk_score >= settings.PAYSYS_RISK_REVIEW_THRESHOLD:
        payment_transition(
            payment, action=action, target=Status.REQUIRES_REVIEW, events=["payment.requires_review"]
        )
    else:
        payment_transition(
            payment, action=action, target=Status.REQUIRES_CAPTURE, events=["payment.authorized"]
        )


def merchant_pending_get(*, merchant_id: str, currency: str, livemode: bool) -> LedgerAccount:
    return merchant_account_get(
        merchant_id=merchant_id, kind=AccountKind.PENDING, currency=currency, livemode=livemode
    )
