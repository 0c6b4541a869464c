"""Creating a payment: validated, scored, authorized (card or wallet), and its 3-D-Secure-like
challenge confirmed."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moneyed import Money

from accounts.models import LedgerAccount
from accounts.services import ledger_atomic
from merchants.models import Merchant
from merchants.selectors import merchant_get
from payments.cards import card_validate
from payments.models import Payment, ProcessorOperation
from payments.modes import card_mode_check
from payments.persistence import payment_read
from payments.risk import RiskSignals, risk_assess, risk_limits_check
from payments.selectors import payment_method_get
from payments.services.answers import operation_apply, request_resume
from payments.services.capture import payment_after, resumed_after
from payments.services.events import payment_emit
from payments.services.methods import payment_method_insert
from payments.services.operations import Kind, operation_begin, operation_send
from payments.services.transitions import payment_lock_for, payment_transition
from payments.services.wallet import wallet_authorize, wallet_get
from payments.states import Action, Status
from paysys.audit.services import audit_record
from paysys.errors import InvalidRequestError, NotFoundError, ServiceUnavailableError
from paysys.tenancy import Tenant

MAX_TRANSFER_DESTINATIONS = 10


@dataclass(frozen=True)
class TransferRequest:
    destination: str  # mer_…
    amount: Money


def _transfers_validate(
    *, merchant: Merchant, amount: Money, transfers: Sequence[TransferRequest]
) -> list[dict]:
    if len(transfers) > MAX_TRANSFER_DESTINATIONS:
        raise InvalidRequestError(
            f"At most {MAX_TRANSFER_DESTINATIONS} transfer destinations.", param="transfer_data"
        )
    total = Money(0, amount.currency)
    stored = []
    for index, transfer in enumerate(transfers):
        param = f"transfer_data[{index}][destination]"
        try:
            destination = merchant_get(merchant_id=transfer.destination)
        except NotFoundError:
            destination = None
        # A merchant not connected to this one is as unknown as an id that does not exist.
        if destination is None or destination.platform_id != merchant.pk:
            raise NotFoundError(f"No such connected merchant: '{transfer.destination}'", param=param)
        if destination.status != Merchant.Status.ACTIVE:
            raise InvalidRequestError(
                "A transfer destination must be an active connected merchant.",
                code="invalid_destination",
                param=param,
            )
        if transfer.amount.currency != amount.currency:
            raise InvalidRequestError(
                "Transfers use the payment's currency.", param=f"transfer_data[{index}][amount]"
            )
        total += transfer.amount
        stored.append({"destination": destination.public_id, "amount": str(transfer.amount.amount)})
    if total > amount:
        raise InvalidRequestError(
            "The transfers add up to more than the payment amount.",
            code="amount_too_large",
            param="transfer_data",
        )
    return stored


def payment_create(
    *,
    merchant: Merchant,
    amount: Money,
    payment_method_id: str | None = None,
    card: Mapping[str, Any] | None = None,
    source_account_id: str | None = None,
    capture_method: str = Payment.CaptureMethod.AUTOMATIC,
    description: str = "",
    metadata: Mapping[str, str] | None = None,
    transfers: Sequence[TransferRequest] = (),
    receipt_email: str = "",
    ip: str = "",
    livemode: bool = False,
    credit_account: LedgerAccount | None = None,
    on_created: Callable[[Payment], object] | None = None,
) -> Payment:
    """Create and authorize a payment (and capture it when ``capture_method`` is automatic).

    Raises ``CardError`` (402, with ``decline_code`` and the failed payment's id) on a decline,
    after the failed payment is committed. ``credit_account`` is the account its capture
    credits instead of the merchant's pending (a top-up's wallet); ``on_created`` runs in the
    transaction that creates the payment (a top-up records itself there).
    """
    resumed = request_resume(merchant_pk=merchant.pk)
    if resumed is not None:
        return resumed_after(resumed.payment_id)
    sources = [s for s in (payment_method_id, card, source_account_id) if s]
    if len(sources) != 1:
        raise InvalidRequestError(
            "Give exactly one of payment_method, payment_method_data or source_account.",
            param="payment_method",
        )
    if capture_method not in Payment.CaptureMethod.values:
        raise InvalidRequestError("capture_method is automatic or manual.", param="capture_method")
    tenant = Tenant(merchant_pk=merchant.pk, merchant_id=merchant.public_id, livemode=livemode)
    card_data = (
        card_validate(
            number=card.get("number"),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
            cvc=card.get("cvc"),
        )
        if card
        else None
    )
    stored_transfers = _transfers_validate(merchant=merchant, amount=amount, transfers=transfers)
    pm = payment_method_get(tenant=tenant, payment_method_id=payment_method_id) if payment_method_id else None
    wallet = (
        wallet_get(tenant=tenant, account_id=source_account_id, currency=amount.currency.code)
        if source_account_id
        else None
    )
    if wallet is None:
        card_mode_check(livemode=livemode, card=card_data)
    fingerprint = card_data.fingerprint if card_data else (pm.fingerprint if pm else "")
    assessment = risk_assess(
        merchant_id=merchant.public_id,
        livemode=livemode,
        signals=RiskSignals(fingerprint=fingerprint, ip=ip, email=receipt_email),
    )

    @ledger_atomic
    def begin() -> tuple[Payment, ProcessorOperation | None]:
        risk_limits_check(merchant=merchant, amount=amount, livemode=livemode)
        method = pm or (
            payment_method_insert(merchant=merchant, card=card_data, livemode=livemode) if card_data else None
        )
        payment = Payment.objects.create(
            merchant=merchant,
            currency=amount.currency.code,
            amount=amount,
            capture_method=capture_method,
            payment_method=method,
            source_account=wallet,
            transfer_data=stored_transfers,
            risk_score=assessment.score,
            risk_reasons=assessment.reasons,
            receipt_email=receipt_email,
            description=description,
            metadata=dict(metadata or {}),
            livemode=livemode,
            credit_account=credit_account,
        )
        if on_created is not None:
            on_created(payment)
        audit_record(
            event_type="payment.created",
            object_type="payment",
            object_id=payment.public_id,
            new_state=payment.status,
            amount=payment.amount.amount,
            currency=payment.currency,
            merchant_id=merchant.public_id,
        )
        payment_emit(payment, "payment.created")
        if wallet is not None:
            wallet_authorize(payment)
            return payment, None
        return payment, operation_begin(payment, kind=Kind.AUTHORIZE, amount=payment.amount)

    payment, op = begin()
    if op is not None:
        outcome = operation_send(op, payment)
        if outcome != "timeout":
            payment = operation_apply(operation=op, result=outcome) or payment_read(payment.pk)
    return payment_after(payment)


def payment_confirm(*, payment: Payment, challenge_passed: bool) -> Payment:
    """Complete the 3-D-Secure-like challenge of a ``requires_action`` payment."""

    @ledger_atomic
    def begin() -> ProcessorOperation:
        locked = payment_lock_for(payment_pk=payment.pk, action=Action.CONFIRM)
        op = operation_begin(locked, kind=Kind.CONFIRM, params={"challenge_passed": challenge_passed})
        payment_transition(locked, action=Action.CONFIRM, target=Status.PROCESSING)
        return op

    if request_resume(merchant_pk=payment.merchant_id) is not None:
        return resumed_after(payment.pk)
    op = begin()
    outcome = operation_send(op, payment)
    confirmed = None
    if outcome != "timeout":
        confirmed = operation_apply(operation=op, result=outcome)
        if outcome is None:
            raise ServiceUnavailableError(
                "The processor is unavailable; try again.", payment=payment.public_id
            )
    return payment_after(confirmed or payment_read(payment.pk))
