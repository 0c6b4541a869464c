"""Payment use cases: tokenize, create, confirm, capture, cancel, expire, review, refund, dispute.

Talking to the processor
------------------------
A processor call never runs inside a database transaction that holds locks for it: each use
case is a sequence of short transactions around the call.

1. *Begin* (one transaction, payment row locked): check the action against the state table
   (``payments.states``), record a ``ProcessorOperation`` (unique ``reference`` such as
   ``pay_…:capture:1f3a9c0e``, so a retried call is one operation at the processor) and move the
   payment to ``processing``. A concurrent action now sees ``processing`` and gets a 409.
2. *Call* the processor (timeout + circuit breaker, ``payments.processor``).
3. *Apply* the answer (one transaction, payment row locked, the operation still ``pending``):
   move the payment on, post to the ledger, write the audit row and the outbox event.
   A timeout applies nothing: the payment stays ``processing`` and the beat task
   ``payments_resolve_processing`` asks the processor ``status(reference)`` later; the answer
   is applied by the same code. ``None`` (the processor never received it) is the only
   answer that lets paysys conclude "not done" (``not_sent``); it never guesses.

When an ``Idempotency-Key`` wraps the request, the platform runs the view in one database
transaction (``paysys.idempotency``) and the steps above are savepoints of it, except that
sending an operation (``_send``) first commits the work so far as the key's recovery point (an
idempotency checkpoint naming the operation's reference). A crash after that leaves the payment
and its pending operation committed: a retry with the key resumes (``_resume``: the operation
is sent again under its reference, the processor answers with its first result, and the use
case goes on from the payment's state); what nobody retries, ``payments_resolve_processing``
finishes.

Ledger postings (sign convention of ``accounts.services``: + credits the holder)
------------------------------------------------------------------------------
* Card capture of C with fee F and split transfers T (one transaction, ``capture:pay_…``):
  platform ``card_clearing`` -C, platform ``fees`` +F, each destination merchant's ``pending`` +T,
  the merchant's ``pending`` +(C-F-T). F is computed once, at capture, from the merchant's fee
  plan, half-up to the minor unit, and capped at C-T. The merchant's account is only credited,
  so a merchant's concurrent captures never queue on its row.
* Wallet capture: the wallet hold is captured into the merchant's ``pending`` (``hold_capture``,
  the rest of the hold released), then ``fee:pay_…``: merchant ``pending`` -(F+T), ``fees`` +F,
  destinations +T.
* Refund R (``refund:re_…``): the merchant is debited ``available`` first, then ``pending``, then
  ``reserve`` (each down to zero); if the three cannot cover R the refund fails with 400
  ``balance_insufficient`` and nothing moves. The source is credited: ``card_clearing`` +R for a
  card, the customer's wallet +R for a wallet. Fees and split transfers are not returned.
  A refund the processor declines is reversed (``ledger_reverse``) and marked ``failed``.
* Dispute opened on D = captured - refunded, with the dispute fee X (the merchant's fee plan
  for the currency, else ``PAYSYS_DISPUTE_FEE_MINOR``), ``dispute:dp_…``: the network takes D
  back at once (``card_clearing`` +D) and the platform earns X (``fees`` +X); the merchant pays
  D+X by the refund rule; whatever its balances cannot cover (the shortfall S) is carried by the
  platform's ``dispute_losses`` (-S) instead of failing, because a chargeback cannot be refused.
* Dispute won (``dispute_won:dp_…``): the network returns D (``card_clearing`` -D); it first
  repays ``dispute_losses`` (+S), the rest goes to the merchant's ``pending`` (+D-S). The fee X
  is not returned. Dispute lost: no new posting: the merchant's debit stands and S stays booked
  on ``dispute_losses`` as the platform's loss.

Every transition writes an audit row and an outbox event in the same transaction as its
postings. Locks: the payment row first (``payment_lock``), then ledger accounts in ascending
id (``accounts.services.accounts_lock``, called by the ledger itself).
"""

import contextlib
import functools
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from accounts.errors import OverdraftFundingError
from accounts.models import (
    AccountKind,
    JournalTransaction,
    LedgerAccount,
    OwnerType,
    TransactionKind,
    overdraft_is_credit,
)
from accounts.services import (
    PostingLine,
    accounts_lock,
    hold_capture,
    hold_place,
    hold_release,
    ledger_atomic,
    ledger_post,
    ledger_reverse,
    merchant_account_get,
    merchant_accounts_open,
    platform_account_get,
)
from merchants.models import Merchant
from merchants.selectors import merchant_fee_terms_get, merchant_get
from payments.cards import CardData, card_validate
from payments.models import Dispute, Payment, PaymentMethod, ProcessorOperation, Refund, TopUp
from payments.modes import card_mode_check
from payments.processor import (
    OperationStatus,
    ProcessorResult,
    ProcessorTimeoutError,
    ProcessorUnavailableError,
    processor_call,
    processor_get,
    processor_mode_check,
)
from payments.risk import RiskSignals, risk_assess, risk_limits_check
from payments.selectors import payment_method_get
from payments.serializers import (
    dispute_object,
    payment_method_object,
    payment_object,
    refund_object,
    top_up_object,
)
from payments.states import Action, PaymentUnexpectedStateError, Status, target_check, transition_check
from paysys import metrics
from paysys.audit.context import ACTOR_OPERATOR, ACTOR_SYSTEM
from paysys.audit.history import save_with_history
from paysys.audit.services import audit_record
from paysys.db.compiled import CompiledQuery
from paysys.errors import (
    CardError,
    ConflictError,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    PaysysError,
    ServiceUnavailableError,
)
from paysys.events.services import event_emit
from paysys.idempotency.services import idempotency_checkpoint, idempotency_resume_point
from paysys.money import fee_compute
from paysys.tenancy import Tenant

logger = logging.getLogger("paysys.payments")

Kind = ProcessorOperation.Kind
OpStatus = ProcessorOperation.OpStatus
MAX_TRANSFER_DESTINATIONS = 10
# Operations younger than this may still have their own request waiting for the answer.
RESOLVE_MIN_AGE = timedelta(seconds=30)
RESOLVE_BATCH = 200
OPERATION_SUFFIX_BYTES = 4
EXPIRE_BATCH = 500
NOT_SENT_CODE = "processing_error"
NOT_SENT_MESSAGE = "The processor did not receive the request; nothing was charged."
# A top-up's events, sent with its payment's final transitions.
TOP_UP_EVENTS = {
    Status.SUCCEEDED: "top_up.succeeded",
    Status.FAILED: "top_up.failed",
    Status.CANCELED: "top_up.failed",
}


class PaymentsConflictError(ConflictError):
    default_code = "payment_unexpected_state"


class DisputeUnexpectedStateError(ConflictError):
    default_code = "dispute_unexpected_state"


@dataclass(frozen=True)
class TransferRequest:
    destination: str  # mer_…
    amount: Money


# --- locks and small helpers ----------------------------------------------------------------


# What a payment's API object shows besides the payment: read with it in one statement.
_PAYMENT_RELATED = ("merchant", "payment_method", "source_account")
_PAYMENT_LOCK = CompiledQuery(
    lambda pk: (
        Payment.objects.select_for_update(of=("self",), no_key=True)
        .select_related(*_PAYMENT_RELATED)
        .filter(pk=pk)
    ),
    pk=int,
)
_PAYMENT_READ = CompiledQuery(
    lambda pk: Payment.objects.select_related(*_PAYMENT_RELATED).filter(pk=pk), pk=int
)


def payment_lock(*, payment_pk: int) -> Payment:
    return _PAYMENT_LOCK.get(pk=payment_pk)


def _payment_read(payment_pk: int) -> Payment:
    """The payment as committed, with what its API object shows."""
    return _PAYMENT_READ.get(pk=payment_pk)


def _money(payment: Payment, value: Decimal) -> Money:
    return Money(value, payment.currency)


def _emit(payment: Payment, event_type: str) -> None:
    event_emit(
        event_type=event_type,
        merchant_id=payment.merchant.public_id,
        object_type="payment",
        data={"object": payment_object(payment)},
        livemode=payment.livemode,
    )


def _transition(
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
    save_with_history(payment)
    audit_record(
        event_type=f"payment.{action.value}",
        object_type="payment",
        object_id=payment.public_id,
        previous_state=previous,
        new_state=target,
        amount=payment.amount,
        currency=payment.currency,
        merchant_id=payment.merchant.public_id,
        reason_code=reason_code[:64],
        metadata=dict(metadata or {}),
        actor_type=actor_type,
        actor_id=actor_id,
    )
    for event_type in events:
        _emit(payment, event_type)
    if payment.credit_account_id and target in TOP_UP_EVENTS:
        top_up = TopUp.objects.select_related("account").get(payment=payment)
        top_up.payment = payment
        event_emit(
            event_type=TOP_UP_EVENTS[target],
            merchant_id=payment.merchant.public_id,
            object_type="top_up",
            data={"object": top_up_object(top_up)},
            livemode=payment.livemode,
        )
    if previous != target:
        metrics.payment_record(status=target)


def _operation_begin(
    payment: Payment, *, kind: str, amount: Decimal | None = None, params: Mapping[str, Any] | None = None
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
        amount=amount,
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


def _send(op: ProcessorOperation, payment: Payment) -> ProcessorResult | str | None:
    """Send ``op`` (again, under the same reference) for ``payment``: see ``_call`` for the outcome.

    Under an ``Idempotency-Key`` the request's work so far commits first, with the operation's
    reference as the point a retry resumes at: no rollback can lose an operation the processor
    keeps. ``op.amount`` and ``op.params`` hold everything a retry needs to send it again.
    """
    idempotency_checkpoint(recovery_point=op.reference)
    # The mode's processor (``processor_call``): a live operation without a live processor was
    # refused before it was recorded (``processor_mode_check``); resumed, its outcome is unknown.
    send = functools.partial(processor_call, op.kind, livemode=payment.livemode, reference=op.reference)
    amount = _money(payment, op.amount) if op.amount is not None else None
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


# --- payment methods --------------------------------------------------------------------------


def _payment_method_insert(*, merchant: Merchant, card: CardData, livemode: bool) -> PaymentMethod:
    token = processor_get(livemode=livemode).tokenize(card=card)
    with transaction.atomic(savepoint=False):
        pm = PaymentMethod.objects.create(
            merchant=merchant,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=card.fingerprint,
            processor_token=token,
            livemode=livemode,
        )
        audit_record(
            event_type="payment_method.created",
            object_type="payment_method",
            object_id=pm.public_id,
            merchant_id=merchant.public_id,
            metadata={"brand": pm.brand, "last4": pm.last4},
        )
    return pm


def payment_method_create(
    *, merchant: Merchant, card: Mapping[str, Any], livemode: bool = False
) -> PaymentMethod:
    """Tokenize a card: validated in memory, only brand/last4/expiry/fingerprint/token are kept."""
    data = card_validate(
        number=card.get("number"),
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
        cvc=card.get("cvc"),
    )
    card_mode_check(livemode=livemode, card=data)
    with transaction.atomic(durable=True):
        return _payment_method_insert(merchant=merchant, card=data, livemode=livemode)


# --- creating a payment -----------------------------------------------------------------------


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


def _wallet_get(*, tenant: Tenant, account_id: str, currency: str) -> LedgerAccount:
    account = (
        tenant.scope(LedgerAccount.objects.all())
        .filter(
            public_id=account_id,
            owner_type=OwnerType.CUSTOMER,
            kind=AccountKind.WALLET,
        )
        .first()
    )
    if account is None:
        raise NotFoundError(f"No such account: '{account_id}'", param="source_account")
    if account.currency != currency:
        raise InvalidRequestError(
            f"The account holds {account.currency.lower()}, not {currency.lower()}.",
            code="currency_mismatch",
            param="source_account",
        )
    if overdraft_is_credit(owner_type=account.owner_type, allow_negative=account.allow_negative):
        # Refused before any hold: the capture's posting into the merchant's pending would be.
        raise OverdraftFundingError(
            "A wallet that may go negative cannot pay the merchant; fund it with a top-up.",
            param="source_account",
        )
    return account


def _expiry(now: datetime) -> datetime:
    return now + timedelta(days=settings.PAYSYS_AUTHORIZATION_TTL_DAYS)


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
    resumed = _resume(merchant_pk=merchant.pk)
    if resumed is not None:
        return _resumed_after(resumed.payment_id)
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
        _wallet_get(tenant=tenant, account_id=source_account_id, currency=amount.currency.code)
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
            _payment_method_insert(merchant=merchant, card=card_data, livemode=livemode)
            if card_data
            else None
        )
        payment = Payment.objects.create(
            merchant=merchant,
            amount=amount.amount,
            currency=amount.currency.code,
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
            amount=payment.amount,
            currency=payment.currency,
            merchant_id=merchant.public_id,
        )
        _emit(payment, "payment.created")
        if wallet is not None:
            _wallet_authorize(payment)
            return payment, None
        return payment, _operation_begin(payment, kind=Kind.AUTHORIZE, amount=payment.amount)

    payment, op = begin()
    if op is not None:
        outcome = _send(op, payment)
        if outcome != "timeout":
            payment = _operation_apply(operation=op, result=outcome) or _payment_read(payment.pk)
    return _after(payment)


def _wallet_authorize(payment: Payment) -> None:
    """Hold the wallet's funds: the authorization of a wallet payment (joins the caller's transaction)."""
    now = timezone.now()
    hold = hold_place(
        account_id=payment.source_account_id,
        amount=_money(payment, payment.amount),
        reference=f"payment:{payment.public_id}",
        expires_at=_expiry(now) + timedelta(days=1),
    )
    payment.hold = hold
    _authorized(payment, action=Action.RESOLVE, network_score=0)


def _authorized(payment: Payment, *, action: Action, network_score: int) -> None:
    """An approved authorization: review when the score says so, else ready to capture."""
    now = timezone.now()
    payment.authorized_at = payment.authorized_at or now
    payment.expires_at = _expiry(now)
    payment.amount_capturable = payment.amount
    if network_score:
        payment.risk_score = min(100, payment.risk_score + network_score)
        payment.risk_reasons = [*payment.risk_reasons, "network_score"]
    if payment.risk_score >= settings.PAYSYS_RISK_REVIEW_THRESHOLD:
        _transition(payment, action=action, target=Status.REQUIRES_REVIEW, events=["payment.requires_review"])
    else:
        _transition(payment, action=action, target=Status.REQUIRES_CAPTURE, events=["payment.authorized"])


def _after(payment: Payment) -> Payment:
    """Finish a use case: capture automatically when due, and turn a decline into ``CardError``.

    ``payment`` is the payment as the use case's last transaction left it (``_payment_read``
    when that is not at hand); the payment returned is the one the caller shows.
    """
    if (
        payment.status == Status.REQUIRES_CAPTURE
        and payment.capture_method == Payment.CaptureMethod.AUTOMATIC
    ):
        payment = _capture_run(payment_pk=payment.pk, amount=None)
    if payment.status == Status.FAILED and payment.failure_code:
        raise CardError(
            payment.failure_message or "Your card was declined.",
            code="card_declined" if payment.failure_code != NOT_SENT_CODE else NOT_SENT_CODE,
            decline_code=payment.failure_code,
            payment=payment.public_id,
        )
    return payment


# --- applying processor answers ---------------------------------------------------------------


def _apply_authorize(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    if result is None:
        payment.failure_code, payment.failure_message = NOT_SENT_CODE, NOT_SENT_MESSAGE
        _transition(payment, action=Action.RESOLVE, target=Status.FAILED, events=["payment.failed"])
        return
    payment.processor_authorization = result.authorization
    if result.status == OperationStatus.DECLINED:
        payment.failure_code, payment.failure_message = result.decline_code, result.message[:255]
        _transition(
            payment,
            action=Action.RESOLVE,
            target=Status.FAILED,
            events=["payment.failed"],
            reason_code=result.decline_code,
        )
    elif result.status == OperationStatus.REQUIRES_ACTION:
        payment.expires_at = _expiry(timezone.now())
        _transition(
            payment, action=Action.RESOLVE, target=Status.REQUIRES_ACTION, events=["payment.requires_action"]
        )
    else:
        _authorized(payment, action=Action.RESOLVE, network_score=result.risk_score)


def _apply_confirm(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    if result is None:
        _transition(payment, action=Action.RESOLVE, target=Status.REQUIRES_ACTION, reason_code="not_sent")
    elif result.status == OperationStatus.SUCCEEDED:
        _authorized(payment, action=Action.RESOLVE, network_score=result.risk_score)
    else:
        payment.failure_code, payment.failure_message = result.decline_code, result.message[:255]
        payment.amount_capturable = Decimal(0)
        _transition(
            payment,
            action=Action.RESOLVE,
            target=Status.FAILED,
            events=["payment.failed"],
            reason_code=result.decline_code,
        )


def _apply_capture(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    if result is None:
        _transition(payment, action=Action.RESOLVE, target=Status.REQUIRES_CAPTURE, reason_code="not_sent")
    elif result.status == OperationStatus.SUCCEEDED:
        post = _capture_book(payment, captured=_money(payment, op.amount))
        _transition(
            payment,
            action=Action.RESOLVE,
            target=Status.SUCCEEDED,
            events=["payment.captured", "payment.succeeded"],
        )
        post()
    else:
        payment.failure_code, payment.failure_message = result.decline_code, result.message[:255]
        payment.amount_capturable = Decimal(0)
        _transition(
            payment,
            action=Action.RESOLVE,
            target=Status.FAILED,
            events=["payment.failed"],
            reason_code=result.decline_code,
        )


def _apply_void(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    if result is None:
        _transition(
            payment, action=Action.RESOLVE, target=Status(op.params["from_status"]), reason_code="not_sent"
        )
        return
    # A declined void still ends the payment: the authorization lapses at the network anyway.
    _canceled(payment, action=Action.RESOLVE, reason=op.params.get("reason", ""))


def _apply_refund(payment: Payment, op: ProcessorOperation, result: ProcessorResult | None) -> None:
    refund = Refund.objects.select_for_update(no_key=True).get(pk=op.refund_id)
    if result is not None and result.status == OperationStatus.SUCCEEDED:
        _refund_succeeded(refund)
    else:
        _refund_fail(payment, refund, reason=result.decline_code if result else "not_sent")


_APPLIERS = {
    Kind.AUTHORIZE: _apply_authorize,
    Kind.CONFIRM: _apply_confirm,
    Kind.CAPTURE: _apply_capture,
    Kind.VOID: _apply_void,
    Kind.REFUND: _apply_refund,
}


@ledger_atomic
def _operation_apply(*, operation: ProcessorOperation, result: ProcessorResult | None) -> Payment | None:
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
    # (kind, amount, params, refund) never changes after ``_operation_begin``.
    if not ProcessorOperation.objects.filter(pk=operation.pk, status=OpStatus.PENDING).update(**answer):
        return None
    for name, value in answer.items():
        setattr(operation, name, value)
    _APPLIERS[operation.kind](payment, operation, result)
    return payment


# --- confirm, capture, cancel, expire, review -------------------------------------------------


def _locked_for(*, payment_pk: int, action: Action) -> Payment:
    payment = payment_lock(payment_pk=payment_pk)
    transition_check(action=action, status=payment.status)
    return payment


def payment_confirm(*, payment: Payment, challenge_passed: bool) -> Payment:
    """Complete the 3-D-Secure-like challenge of a ``requires_action`` payment."""

    @ledger_atomic
    def begin() -> ProcessorOperation:
        locked = _locked_for(payment_pk=payment.pk, action=Action.CONFIRM)
        op = _operation_begin(locked, kind=Kind.CONFIRM, params={"challenge_passed": challenge_passed})
        _transition(locked, action=Action.CONFIRM, target=Status.PROCESSING)
        return op

    if _resume(merchant_pk=payment.merchant_id) is not None:
        return _resumed_after(payment.pk)
    op = begin()
    outcome = _send(op, payment)
    confirmed = None
    if outcome != "timeout":
        confirmed = _operation_apply(operation=op, result=outcome)
        if outcome is None:
            raise ServiceUnavailableError(
                "The processor is unavailable; try again.", payment=payment.public_id
            )
    return _after(confirmed or _payment_read(payment.pk))


def _merchant_pending(*, merchant_id: str, currency: str, livemode: bool) -> LedgerAccount:
    return merchant_account_get(
        merchant_id=merchant_id, kind=AccountKind.PENDING, currency=currency, livemode=livemode
    )


def _capture_book(payment: Payment, *, captured: Money) -> Callable[[], None]:
    """Set a locked payment's captured amounts and fee; return the function that posts them.

    The caller records the transition first and posts last: the posting debits the platform's
    ``card_clearing`` (a row every capture locks), so the lock is taken as late as possible in
    the transaction and held for as little as possible.

    A card capture is one journal transaction: ``card_clearing`` -C, merchant ``pending``
    +(C - F - T), platform ``fees`` +F, each destination's ``pending`` +T. The merchant's pending
    account is only credited, so concurrent captures of one merchant never queue on its row.
    A wallet capture posts the hold into ``pending`` (``hold_capture``), then fee and transfers
    move out of ``pending`` in a second transaction.
    """
    merchant_id = payment.merchant.public_id
    currency = payment.currency
    pay = payment.public_id
    pending = _merchant_pending(merchant_id=merchant_id, currency=currency, livemode=payment.livemode)
    transfers = [(t["destination"], _money(payment, Decimal(t["amount"]))) for t in payment.transfer_data]
    transferred = sum((amount for _, amount in transfers), Money(0, currency))
    terms = merchant_fee_terms_get(merchant=payment.merchant, currency=currency.lower())
    fee = min(
        fee_compute(captured, basis_points=terms.basis_points, fixed=terms.fixed), captured - transferred
    )
    out_lines: list[PostingLine] = []
    if fee.amount > 0:
        out_lines.append(
            PostingLine(
                platform_account_get(kind=AccountKind.FEES, currency=currency, livemode=payment.livemode).pk,
                fee,
            )
        )
    for destination, amount in transfers:
        target = _merchant_pending(merchant_id=destination, currency=currency, livemode=payment.livemode)
        out_lines.append(PostingLine(target.pk, amount))
    kept = captured - fee - transferred
    clearing = (
        None
        if payment.hold_id
        else platform_account_get(
            kind=AccountKind.CARD_CLEARING, currency=currency, livemode=payment.livemode
        )
    )
    for destination, amount in transfers:
        audit_record(
            event_type="payment.split_transferred",
            object_type="payment",
            object_id=pay,
            amount=amount.amount,
            currency=currency,
            merchant_id=merchant_id,
            metadata={"destination": destination},
        )
    payment.amount_captured = captured.amount
    payment.amount_capturable = Decimal(0)
    payment.fee = fee.amount
    payment.captured_at = timezone.now()

    def post() -> None:
        if clearing is None:
            hold_capture(
                hold_id=payment.hold_id,
                amount=captured,
                to_account_id=pending.pk,
                reference=f"capture:{pay}",
                kind=TransactionKind.CAPTURE,
                metadata={"payment": pay},
                merchant_id=merchant_id,
            )
            if out_lines:
                ledger_post(
                    reference=f"fee:{pay}",
                    kind=TransactionKind.FEE,
                    lines=[PostingLine(pending.pk, -(fee + transferred)), *out_lines],
                    metadata={"payment": pay},
                    merchant_id=merchant_id,
                )
            return
        lines = [PostingLine(clearing.pk, -captured), *out_lines]
        if kept.amount > 0:
            lines.append(PostingLine(payment.credit_account_id or pending.pk, kept))
        ledger_post(
            reference=f"capture:{pay}",
            kind=TransactionKind.FUNDING if payment.credit_account_id else TransactionKind.CAPTURE,
            lines=lines,
            metadata={"payment": pay, "fee": str(fee.amount)},
            merchant_id=merchant_id,
        )

    return post


def _capture_amount(payment: Payment, amount: Money | None) -> Money:
    capturable = _money(payment, payment.amount_capturable)
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
    if amount.amount < payment.amount_transferred:
        raise InvalidRequestError(
            "The amount to capture is less than the split transfers.", code="amount_too_small", param="amount"
        )
    return amount


def _capture_run(*, payment_pk: int, amount: Money | None) -> Payment:
    """Capture ``amount`` (all that is capturable when ``None``); return the payment as it ends up."""

    @ledger_atomic
    def begin() -> tuple[Payment, ProcessorOperation | None]:
        payment = _locked_for(payment_pk=payment_pk, action=Action.CAPTURE)
        captured = _capture_amount(payment, amount)
        if payment.hold_id:
            post = _capture_book(payment, captured=captured)
            _transition(
                payment,
                action=Action.CAPTURE,
                target=Status.SUCCEEDED,
                events=["payment.captured", "payment.succeeded"],
            )
            post()
            return payment, None
        op = _operation_begin(payment, kind=Kind.CAPTURE, amount=captured.amount)
        _transition(payment, action=Action.CAPTURE, target=Status.PROCESSING)
        return payment, op

    payment, op = begin()
    if op is None:
        return payment
    outcome = _send(op, payment)
    if outcome == "timeout":
        return payment
    captured = _operation_apply(operation=op, result=outcome)
    if outcome is None:
        raise ServiceUnavailableError("The processor is unavailable; try again.", payment=payment.public_id)
    if captured is None or _network_dispute(payment, outcome):
        return _payment_read(payment_pk)
    return captured


def _network_dispute(payment: Payment, result: ProcessorResult) -> bool:
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


def payment_capture(*, payment: Payment, amount: Money | None = None) -> Payment:
    """Capture all or part of an authorized payment; the rest of the authorization is released."""
    if _resume(merchant_pk=payment.merchant_id) is not None:
        return _resumed_after(payment.pk)
    return _after(_capture_run(payment_pk=payment.pk, amount=amount))


def _canceled(
    payment: Payment,
    *,
    action: Action,
    reason: str,
    actor_type: str | None = None,
    actor_id: str | None = None,
) -> None:
    if payment.hold_id:
        hold_release(hold_id=payment.hold_id)
    payment.amount_capturable = Decimal(0)
    payment.canceled_at = timezone.now()
    payment.cancellation_reason = reason
    _transition(
        payment,
        action=action,
        target=Status.CANCELED,
        events=["payment.canceled"],
        reason_code=reason,
        actor_type=actor_type,
        actor_id=actor_id,
    )


def _void_run(
    *,
    payment_pk: int,
    action: Action,
    reason: str,
    actor_type: str | None = None,
    actor_id: str | None = None,
) -> None:
    @ledger_atomic
    def begin() -> tuple[Payment, ProcessorOperation | None]:
        payment = _locked_for(payment_pk=payment_pk, action=action)
        if payment.hold_id or not payment.processor_authorization:
            _canceled(payment, action=action, reason=reason, actor_type=actor_type, actor_id=actor_id)
            return payment, None
        op = _operation_begin(
            payment, kind=Kind.VOID, params={"from_status": payment.status, "reason": reason}
        )
        _transition(
            payment, action=action, target=Status.PROCESSING, actor_type=actor_type, actor_id=actor_id
        )
        return payment, op

    payment, op = begin()
    if op is None:
        return
    outcome = _send(op, payment)
    if outcome != "timeout":
        _operation_apply(operation=op, result=outcome)
        if outcome is None:
            raise ServiceUnavailableError("The processor is unavailable; try again.")


def payment_cancel(*, payment: Payment, reason: str = "requested_by_customer") -> Payment:
    """Void an uncaptured payment (``requires_action``, ``requires_review`` or ``requires_capture``)."""
    if _resume(merchant_pk=payment.merchant_id) is None:
        _void_run(payment_pk=payment.pk, action=Action.CANCEL, reason=reason)
    return _payment_read(payment.pk)


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
            _void_run(payment_pk=pk, action=Action.EXPIRE, reason="expired", actor_type=ACTOR_SYSTEM)
        except (PaymentUnexpectedStateError, ServiceUnavailableError):
            continue  # captured meanwhile, or the processor is down: the next run retries
        expired += 1
    return expired


def payment_expire(*, payment: Payment) -> Payment:
    """Void one uncaptured authorization now, as its expiry would (``canceled``, reason ``expired``)."""
    _void_run(payment_pk=payment.pk, action=Action.EXPIRE, reason="expired", actor_type=ACTOR_SYSTEM)
    return _payment_read(payment.pk)


def _payment_by_id(payment_id: str) -> Payment:
    payment = Payment.objects.filter(public_id=payment_id).select_related("merchant").first()
    if payment is None:
        raise NotFoundError(f"No such payment: '{payment_id}'", param="payment")
    return payment


def payment_review_approve(*, payment_id: str, operator_id: str) -> Payment:
    """An operator clears a payment held for review: it is captured if automatic, else awaits capture."""

    @ledger_atomic
    def approve() -> Payment:
        payment = _locked_for(payment_pk=_payment_by_id(payment_id).pk, action=Action.REVIEW_APPROVE)
        _transition(
            payment,
            action=Action.REVIEW_APPROVE,
            target=Status.REQUIRES_CAPTURE,
            events=["payment.authorized"],
            actor_type=ACTOR_OPERATOR,
            actor_id=operator_id,
            reason_code="review_approved",
        )
        return payment

    return _after(approve())


def payment_review_decline(*, payment_id: str, operator_id: str) -> Payment:
    """An operator rejects a payment held for review: its authorization is voided (``canceled``)."""
    pk = _payment_by_id(payment_id).pk
    _void_run(
        payment_pk=pk,
        action=Action.REVIEW_DECLINE,
        reason="fraudulent",
        actor_type=ACTOR_OPERATOR,
        actor_id=operator_id,
    )
    return _payment_read(pk)


# --- resolving unknown outcomes ---------------------------------------------------------------


def _ask(op: ProcessorOperation) -> ProcessorResult | str | None:
    """What the processor says about ``op``: its result, ``None`` (it never received it), or
    ``"timeout"`` when it cannot be asked. A processor that refuses the question (an open breaker,
    an outage) has said nothing about the operation: unknown, never "not sent"."""
    try:
        return processor_call("status", livemode=op.payment.livemode, reference=op.reference)
    except (ProcessorTimeoutError, ProcessorUnavailableError):
        return "timeout"


def _operation_finish(op: ProcessorOperation, outcome: ProcessorResult | str | None) -> Payment | None:
    """Apply a known outcome of ``op`` and what the network reported with it; ``None`` when the
    outcome is unknown (a timeout) or was applied already."""
    if outcome == "timeout":
        return None
    payment = _operation_apply(operation=op, result=outcome)
    if payment is not None and outcome is not None and op.kind == Kind.CAPTURE:
        _network_dispute(payment, outcome)
    return payment


# Operations after which "not sent" returns the payment to where it was: a retry runs them
# afresh; after an authorization or a refund "not sent" is a final answer.
_RETRIED_WHEN_NOT_SENT = frozenset({Kind.CONFIRM, Kind.CAPTURE, Kind.VOID})


def _resume(*, merchant_pk: int) -> ProcessorOperation | None:
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
        outcome = _send(op, op.payment)
        if outcome is None:
            # Refused now (an open breaker, an outage), but the attempt that died may have
            # reached the processor: unknown. It stays pending for the next retry or the resolver.
            raise ServiceUnavailableError(
                "The processor is unavailable; try again.", payment=op.payment.public_id
            )
        _operation_finish(op, outcome)
        return op
    if op.status == OpStatus.NOT_SENT and op.kind in _RETRIED_WHEN_NOT_SENT:
        return None
    return op


def _resumed_after(payment_pk: int) -> Payment:
    """``_after`` for a resumed request; the payment as it is when another actor (the resolver,
    an operator) is moving it meanwhile."""
    with contextlib.suppress(PaymentUnexpectedStateError):
        return _after(_payment_read(payment_pk))
    return _payment_read(payment_pk)


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
        answer = _ask(op)
        if answer == "timeout":
            counts["unknown"] += 1
            continue
        payment = _operation_finish(op, answer)
        if payment is None:
            continue
        counts["not_sent" if answer is None else "resolved"] += 1
        if answer is not None and op.kind in {Kind.AUTHORIZE, Kind.CONFIRM}:
            # A decline is recorded on the payment; there is no caller to tell.
            with contextlib.suppress(CardError, ServiceUnavailableError, PaymentUnexpectedStateError):
                _after(payment)
    # An automatic capture the processor refused (not sent) left its payment authorized: retry it.
    stalled = Payment.objects.filter(
        status=Status.REQUIRES_CAPTURE, capture_method=Payment.CaptureMethod.AUTOMATIC, updated__lte=cutoff
    ).values_list("pk", flat=True)[:limit]
    for pk in stalled:
        with contextlib.suppress(CardError, ServiceUnavailableError, PaymentUnexpectedStateError):
            _after(_payment_read(pk))
            counts["captured"] += 1
    return counts


# --- refunds ----------------------------------------------------------------------------------


def _merchant_debit_lines(
    *, merchant_id: str, livemode: bool, amount: Money, allow_shortfall: bool
) -> tuple[list[PostingLine], Decimal]:
    """Debit the merchant: ``available``, then ``pending``, then ``reserve``; return (lines, shortfall).

    The accounts are locked (ascending id) before their balances are read, so the split holds
    until commit. Without ``allow_shortfall`` a shortfall raises ``InsufficientFundsError``.
    """
    accounts = merchant_accounts_open(
        merchant_id=merchant_id, currency=amount.currency.code, livemode=livemode
    )
    order = [accounts[AccountKind.AVAILABLE], accounts[AccountKind.PENDING], accounts[AccountKind.RESERVE]]
    locked = accounts_lock([a.pk for a in order])
    remaining = amount.amount
    lines = []
    for account in order:
        state = locked[account.pk]
        spendable = state.posted_base + state.shard_sum - state.pending
        take = min(max(spendable, Decimal(0)), remaining)
        if take > 0:
            lines.append(PostingLine(account.pk, Money(-take, amount.currency)))
            remaining -= take
    if remaining > 0 and not allow_shortfall:
        raise InsufficientFundsError(
            "The merchant's available, pending and reserve balances together cannot cover this amount.",
            code="balance_insufficient",
            param="amount",
        )
    return lines, remaining


def _refund_emit(refund: Refund, event_type: str) -> None:
    event_emit(
        event_type=event_type,
        merchant_id=refund.payment.merchant.public_id,
        object_type="refund",
        data={"object": refund_object(refund)},
        livemode=refund.livemode,
    )


def _refund_audit(refund: Refund, previous: str) -> None:
    audit_record(
        event_type=f"refund.{refund.status}",
        object_type="refund",
        object_id=refund.public_id,
        previous_state=previous,
        new_state=refund.status,
        amount=refund.amount,
        currency=refund.currency,
        merchant_id=refund.payment.merchant.public_id,
        metadata={"payment": refund.payment.public_id},
    )


def _refund_succeeded(refund: Refund) -> None:
    previous = refund.status
    refund.status = Refund.RefundStatus.SUCCEEDED
    refund.save()
    _refund_audit(refund, previous)
    _refund_emit(refund, "refund.succeeded")
    metrics.refund_record(status=refund.status)


def _refund_fail(payment: Payment, refund: Refund, *, reason: str) -> None:
    original = JournalTransaction.objects.values_list("pk", flat=True).get(
        reference=f"refund:{refund.public_id}"
    )
    ledger_reverse(transaction_id=original, reference=f"refund_failed:{refund.public_id}")
    payment.amount_refunded -= refund.amount
    save_with_history(payment)
    previous = refund.status
    refund.status = Refund.RefundStatus.FAILED
    refund.failure_reason = reason[:64]
    refund.save()
    _refund_audit(refund, previous)
    _refund_emit(refund, "refund.failed")
    metrics.refund_record(status=refund.status)


def refund_create(
    *,
    payment: Payment,
    amount: Money | None = None,
    reason: str = "",
    metadata: Mapping[str, str] | None = None,
) -> Refund:
    """Refund all or part of what remains of a captured payment, never more (checked under its lock)."""
    if reason and reason not in Refund.Reason.values:
        raise InvalidRequestError("Unknown refund reason.", param="reason")

    @ledger_atomic
    def begin() -> tuple[Refund, ProcessorOperation | None]:
        locked = _locked_for(payment_pk=payment.pk, action=Action.REFUND)
        if locked.disputed:
            raise PaymentsConflictError(
                "This payment is disputed; it cannot be refunded.",
                code="charge_disputed",
                current_status=locked.status,
            )
        remaining = _money(locked, locked.amount_captured - locked.amount_refunded)
        wanted = remaining if amount is None else amount
        if wanted.currency != remaining.currency:
            raise InvalidRequestError("The refund is in the payment's currency.", param="amount")
        if remaining.amount <= 0 or wanted > remaining:
            raise InvalidRequestError(
                f"The refund exceeds what remains to refund ({remaining}).",
                code="amount_too_large",
                param="amount",
            )
        refund = Refund.objects.create(
            payment=locked,
            merchant=locked.merchant,
            amount=wanted.amount,
            currency=locked.currency,
            reason=reason,
            metadata=dict(metadata or {}),
            livemode=locked.livemode,
        )
        merchant_id = locked.merchant.public_id
        lines, _ = _merchant_debit_lines(
            merchant_id=merchant_id, livemode=locked.livemode, amount=wanted, allow_shortfall=False
        )
        source = (
            locked.source_account_id
            if locked.source_account_id
            else platform_account_get(
                kind=AccountKind.CARD_CLEARING, currency=locked.currency, livemode=locked.livemode
            ).pk
        )
        ledger_post(
            reference=f"refund:{refund.public_id}",
            kind=TransactionKind.REFUND,
            lines=[*lines, PostingLine(source, wanted)],
            metadata={"payment": locked.public_id, "refund": refund.public_id},
            merchant_id=merchant_id,
        )
        locked.amount_refunded += wanted.amount
        locked.save()
        _refund_audit(refund, "")
        _emit(locked, "payment.refunded")
        if locked.source_account_id:
            _refund_succeeded(refund)
            return refund, None
        processor_mode_check(livemode=locked.livemode)
        op = ProcessorOperation.objects.create(
            payment=locked,
            refund=refund,
            kind=Kind.REFUND,
            reference=f"{refund.public_id}:refund",
            amount=wanted.amount,
        )
        return refund, op

    resumed = _resume(merchant_pk=payment.merchant_id)
    if resumed is not None:
        return Refund.objects.select_related("payment").get(pk=resumed.refund_id)
    refund, op = begin()
    if op is not None:
        _operation_finish(op, _send(op, payment))
    return Refund.objects.select_related("payment").get(pk=refund.pk)


# --- disputes ---------------------------------------------------------------------------------


def _dispute_emit(dispute: Dispute, event_type: str) -> None:
    event_emit(
        event_type=event_type,
        merchant_id=dispute.payment.merchant.public_id,
        object_type="dispute",
        data={"object": dispute_object(dispute)},
        livemode=dispute.livemode,
    )


def _dispute_audit(
    dispute: Dispute, previous: str, *, actor_type: str | None = None, actor_id: str | None = None
):
    audit_record(
        event_type=f"dispute.{dispute.status}",
        object_type="dispute",
        object_id=dispute.public_id,
        previous_state=previous,
        new_state=dispute.status,
        amount=dispute.amount,
        currency=dispute.currency,
        merchant_id=dispute.payment.merchant.public_id,
        metadata={"payment": dispute.payment.public_id},
        actor_type=actor_type,
        actor_id=actor_id,
    )


@ledger_atomic
def dispute_open(
    *, payment_id: str, reason: str = "general", operator_id: str | None = None, by_network: bool = False
) -> Dispute:
    """Open a dispute (chargeback) on a captured card payment; debits the merchant amount + fee."""
    payment = _locked_for(payment_pk=_payment_by_id(payment_id).pk, action=Action.DISPUTE)
    if payment.hold_id or payment.payment_method_id is None:
        raise PaymentsConflictError(
            "Only card payments can be disputed.",
            code="payment_not_disputable",
            current_status=payment.status,
        )
    if Dispute.objects.filter(payment=payment).exists():
        raise PaymentsConflictError(
            "This payment is already disputed.", code="charge_already_disputed", current_status=payment.status
        )
    disputed = _money(payment, payment.amount_captured - payment.amount_refunded)
    if disputed.amount <= 0:
        raise PaymentsConflictError(
            "Nothing remains to dispute on this payment.",
            code="payment_not_disputable",
            current_status=payment.status,
        )
    fee = merchant_fee_terms_get(merchant=payment.merchant, currency=payment.currency.lower()).dispute_fee
    merchant_id = payment.merchant.public_id
    lines, shortfall = _merchant_debit_lines(
        merchant_id=merchant_id, livemode=payment.livemode, amount=disputed + fee, allow_shortfall=True
    )
    clearing = platform_account_get(
        kind=AccountKind.CARD_CLEARING, currency=payment.currency, livemode=payment.livemode
    )
    fees = platform_account_get(kind=AccountKind.FEES, currency=payment.currency, livemode=payment.livemode)
    if shortfall > 0:
        losses = platform_account_get(
            kind=AccountKind.DISPUTE_LOSSES, currency=payment.currency, livemode=payment.livemode
        )
        lines.append(PostingLine(losses.pk, _money(payment, -shortfall)))
    lines.append(PostingLine(clearing.pk, disputed))
    if fee.amount > 0:
        lines.append(PostingLine(fees.pk, fee))
    dispute = Dispute.objects.create(
        payment=payment,
        merchant=payment.merchant,
        amount=disputed.amount,
        fee=fee.amount,
        platform_shortfall=shortfall,
        currency=payment.currency,
        reason=reason[:64] or "general",
        evidence_due_by=timezone.now() + timedelta(days=settings.PAYSYS_DISPUTE_EVIDENCE_DAYS),
        livemode=payment.livemode,
    )
    ledger_post(
        reference=f"dispute:{dispute.public_id}",
        kind=TransactionKind.DISPUTE,
        lines=lines,
        metadata={"payment": payment.public_id, "dispute": dispute.public_id},
        merchant_id=merchant_id,
    )
    payment.disputed = True
    save_with_history(payment)
    actor_type = ACTOR_OPERATOR if operator_id else (ACTOR_SYSTEM if by_network else None)
    _dispute_audit(
        dispute, "", actor_type=actor_type, actor_id=operator_id or ("network" if by_network else None)
    )
    _dispute_emit(dispute, "dispute.created")
    return dispute


def _dispute_lock(*, dispute_pk: int) -> Dispute:
    return (
        Dispute.objects.select_for_update(of=("self",), no_key=True)
        .select_related("payment")
        .get(pk=dispute_pk)
    )


@ledger_atomic
def dispute_evidence_submit(*, dispute: Dispute, text: str, submit: bool) -> Dispute:
    """Attach the merchant's evidence; ``submit`` sends it for review (no later changes)."""
    payment_lock(payment_pk=dispute.payment_id)
    locked = _dispute_lock(dispute_pk=dispute.pk)
    if locked.status != Dispute.DisputeStatus.NEEDS_RESPONSE:
        raise DisputeUnexpectedStateError(
            f"This dispute's status is {locked.status}; evidence can no longer be changed.",
            current_status=locked.status,
        )
    previous = locked.status
    locked.evidence_text = text
    if submit:
        locked.status = Dispute.DisputeStatus.UNDER_REVIEW
        locked.evidence_submitted_at = timezone.now()
    locked.save()
    _dispute_audit(locked, previous)
    _dispute_emit(locked, "dispute.updated")
    return locked


@ledger_atomic
def dispute_close(*, dispute_id: str, outcome: str, operator_id: str | None = None) -> Dispute:
    """Close a dispute ``won`` (the amount comes back, the fee does not) or ``lost`` (nothing moves)."""
    if outcome not in {Dispute.DisputeStatus.WON, Dispute.DisputeStatus.LOST}:
        raise InvalidRequestError("A dispute closes as won or lost.", param="outcome")
    found = Dispute.objects.filter(public_id=dispute_id).values_list("pk", "payment_id").first()
    if found is None:
        raise NotFoundError(f"No such dispute: '{dispute_id}'", param="dispute")
    payment = payment_lock(payment_pk=found[1])
    dispute = _dispute_lock(dispute_pk=found[0])
    if dispute.status not in {Dispute.DisputeStatus.NEEDS_RESPONSE, Dispute.DisputeStatus.UNDER_REVIEW}:
        raise DisputeUnexpectedStateError(
            f"This dispute's status is {dispute.status}; it is closed.", current_status=dispute.status
        )
    if outcome == Dispute.DisputeStatus.WON:
        amount = _money(payment, dispute.amount)
        clearing = platform_account_get(
            kind=AccountKind.CARD_CLEARING, currency=payment.currency, livemode=payment.livemode
        )
        pending = _merchant_pending(
            merchant_id=payment.merchant.public_id, currency=payment.currency, livemode=payment.livemode
        )
        recovered = min(dispute.platform_shortfall, dispute.amount)
        lines = [PostingLine(clearing.pk, -amount)]
        if recovered > 0:
            losses = platform_account_get(
                kind=AccountKind.DISPUTE_LOSSES, currency=payment.currency, livemode=payment.livemode
            )
            lines.append(PostingLine(losses.pk, _money(payment, recovered)))
        if dispute.amount - recovered > 0:
            lines.append(PostingLine(pending.pk, _money(payment, dispute.amount - recovered)))
        ledger_post(
            reference=f"dispute_won:{dispute.public_id}",
            kind=TransactionKind.DISPUTE,
            lines=lines,
            metadata={"payment": payment.public_id, "dispute": dispute.public_id},
            merchant_id=payment.merchant.public_id,
        )
    previous = dispute.status
    dispute.status = outcome
    dispute.closed_at = timezone.now()
    dispute.save()
    dispute.payment = payment
    _dispute_audit(
        dispute, previous, actor_type=ACTOR_OPERATOR if operator_id else None, actor_id=operator_id
    )
    _dispute_emit(dispute, "dispute.closed")
    return dispute


__all__ = [
    "TransferRequest",
    "dispute_close",
    "dispute_evidence_submit",
    "dispute_open",
    "payment_cancel",
    "payment_capture",
    "payment_confirm",
    "payment_create",
    "payment_expire",
    "payment_lock",
    "payment_method_create",
    "payment_method_object",
    "payment_review_approve",
    "payment_review_decline",
    "payments_expire_authorizations",
    "payments_resolve_processing",
    "refund_create",
]
