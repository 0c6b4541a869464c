from decimal import Decimal

import pytest
from moneyed import Money

from accounts.models import AccountKind, OwnerType
from accounts.services import PostingLine, account_open, ledger_post, platform_account_get
from paysys.tenancy import Tenant

MERCHANT = "mer_ledgertests000000000001"
# The ledger's merchant-facing reads take a tenant: this merchant in test mode.
TENANT = Tenant(merchant_pk=None, merchant_id=MERCHANT, livemode=False)


@pytest.fixture
def wallet_factory(db):
    def make(
        *,
        currency="EUR",
        allow_negative=False,
        merchant_id=MERCHANT,
        balance_shards=None,
        funded=None,
        livemode=False,
    ):
        account = account_open(
            owner_type=OwnerType.CUSTOMER,
            merchant_id=merchant_id,
            kind=AccountKind.WALLET,
            currency=currency,
            allow_negative=allow_negative,
            balance_shards=balance_shards,
            livemode=livemode,
        )
        if funded is not None:
            fund(account, Decimal(funded))
        return account

    return make


def fund(account, amount: Decimal, *, reference: str | None = None):
    """Credit ``account`` from the platform's wallet-funding account (overdraft allowed)."""
    source = platform_account_get(
        kind=AccountKind.WALLET_FUNDING, currency=account.currency, livemode=account.livemode
    )
    return ledger_post(
        reference=reference or f"fund:{account.public_id}:{amount}",
        kind="funding",
        lines=[
            PostingLine(account_id=source.pk, amount=Money(-amount, account.currency)),
            PostingLine(account_id=account.pk, amount=Money(amount, account.currency)),
        ],
    )
