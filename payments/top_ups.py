"""Top-ups: money enters a customer wallet the way real money arrives, by card.

``top_up_create`` charges the card through ``payment_create`` (automatic capture) with the
wallet as the payment's ``credit_account``, and records the ``TopUp`` in the transaction that
creates the payment, so neither exists without the other. The capture is one journal
transaction (``capture:pay_…``, kind ``funding``): platform ``card_clearing`` -amount, the
wallet +net, platform ``fees`` +fee, the fee computed from the merchant's fee plan as for any
payment. The top-up's status, fee and net are its payment's: a declined card leaves it
``failed`` (the view answers 402 ``card_error`` naming both ids); a payment that waits (a
challenge to confirm, a review, a processor timeout) leaves it ``processing`` until the payment
ends, and its capture credits the wallet whenever that happens. ``top_up.succeeded`` and
``top_up.failed`` are sent with the payment's final transition (``payments.services``).

With a wallet source (``source_account``) a payment moves wallet money to the merchant; a
top-up only takes a card: a wallet funding a wallet is a transfer.
"""

from collections.abc import Mapping
from typing import Any

from moneyed import Money

from accounts.models import AccountKind, AccountStatus, LedgerAccount, OwnerType
from merchants.models import Merchant
from payments.models import Payment, TopUp
from payments.services import payment_create
from paysys.audit.services import audit_record
from paysys.errors import (
    AccountClosedError,
    AccountFrozenError,
    CardError,
    InvalidRequestError,
    NotFoundError,
)


def _top_up_wallet(*, merchant: Merchant, account_id: str, currency: str, livemode: bool) -> LedgerAccount:
    """The merchant's open wallet in ``currency`` and this mode; another merchant's, or one of the
    other mode, is as unknown as none."""
    wallet = LedgerAccount.objects.filter(
        public_id=account_id,
        merchant_id=merchant.public_id,
        livemode=livemode,
        owner_type=OwnerType.CUSTOMER,
        kind=AccountKind.WALLET,
    ).first()
    if wallet is None:
        raise NotFoundError(f"No such account: '{account_id}'", param="account")
    if wallet.currency != currency:
        raise InvalidRequestError(
            f"The account holds {wallet.currency.lower()}, not {currency.lower()}.",
            code="currency_mismatch",
            param="currency",
        )
    # Refused before the card is charged: the capture's posting would be refused after it.
    if wallet.status == AccountStatus.FROZEN:
        raise AccountFrozenError(f"Ledger account {wallet.public_id} is frozen.", param="account")
    if wallet.status == AccountStatus.CLOSED:
        raise AccountClosedError(f"Ledger account {wallet.public_id} is closed.", param="account")
    return wallet


def _recorded_or_resumed(recorded: list[TopUp], *, payment_id: str | None) -> TopUp | None:
    """The top-up this request recorded; for a keyed retry that resumed its payment (committed
    with its top-up by the attempt that died, ``payments.services.answers.request_resume``), that one."""
    if recorded:
        return recorded[-1]
    return TopUp.objects.filter(payment__public_id=payment_id).first() if payment_id else None


def top_up_create(
    *,
    merchant: Merchant,
    account_id: str,
    amount: Money,
    payment_method_id: str | None = None,
    card: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    ip: str = "",
    livemode: bool = False,
) -> TopUp:
    """Charge a card and credit the merchant's wallet ``account_id`` the payment's net.

    Raises ``CardError`` (402) naming the failed top-up (``top_up``) and its payment when the
    card is declined; the failed top-up is committed.
    """
    if not payment_method_id and not card:
        raise InvalidRequestError("Give payment_method or payment_method_data.", param="payment_method")
    wallet = _top_up_wallet(
        merchant=merchant, account_id=account_id, currency=amount.currency.code, livemode=livemode
    )
    recorded: list[TopUp] = []

    def record(payment: Payment) -> None:
        top_up = TopUp.objects.create(
            merchant=merchant,
            account=wallet,
            payment=payment,
            currency=amount.currency.code,
            amount=amount,
            metadata=dict(metadata or {}),
            livemode=livemode,
        )
        audit_record(
            event_type="top_up.created",
            object_type="top_up",
            object_id=top_up.public_id,
            new_state=TopUp.TopUpStatus.PROCESSING,
            amount=top_up.amount.amount,
            currency=top_up.currency,
            merchant_id=merchant.public_id,
            metadata={"account": wallet.public_id, "payment": payment.public_id},
        )
        recorded.append(top_up)

    try:
        payment = payment_create(
            merchant=merchant,
            amount=amount,
            payment_method_id=payment_method_id,
            card=card,
            capture_method=Payment.CaptureMethod.AUTOMATIC,
            description=f"Top-up of {wallet.public_id}",
            ip=ip,
            livemode=livemode,
            credit_account=wallet,
            on_created=record,
        )
    except CardError as exc:
        top_up = _recorded_or_resumed(recorded, payment_id=exc.extra.get("payment"))
        if top_up is None:
            raise
        raise CardError(
            exc.message, code=exc.code, param=exc.param, **exc.extra, top_up=top_up.public_id
        ) from None
    top_up = _recorded_or_resumed(recorded, payment_id=payment.public_id)
    top_up.payment = payment
    top_up.account = wallet
    return top_up
