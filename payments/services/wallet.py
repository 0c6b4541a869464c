"""Wallet payments: the customer's wallet account as a source, authorized by a ledger hold."""

from datetime import timedelta

from django.utils import timezone

from accounts.errors import OverdraftFundingError
from accounts.models import AccountKind, LedgerAccount, OwnerType, overdraft_is_credit
from accounts.services import hold_place
from payments.models import Payment
from payments.services.transitions import authorization_expiry, payment_authorized
from payments.states import Action
from paysys.errors import InvalidRequestError, NotFoundError
from paysys.tenancy import Tenant


def wallet_get(*, tenant: Tenant, account_id: str, currency: str) -> LedgerAccount:
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


def wallet_authorize(payment: Payment) -> None:
    """Hold the wallet's funds: the authorization of a wallet payment (joins the caller's transaction)."""
    now = timezone.now()
    hold = hold_place(
        account_id=payment.source_account_id,
        amount=payment.amount,
        reference=f"payment:{payment.public_id}",
        expires_at=authorization_expiry(now) + timedelta(days=1),
    )
    payment.hold = hold
    payment_authorized(payment, action=Action.RESOLVE, network_score=0)
