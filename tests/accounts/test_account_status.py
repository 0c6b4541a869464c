from decimal import Decimal

import pytest
from moneyed import Money

from accounts.errors import AccountNotEmptyError
from accounts.models import AccountKind, AccountStatus, LedgerAccount, OwnerType
from accounts.services import (
    PostingLine,
    account_close,
    account_freeze,
    account_open,
    account_unfreeze,
    ledger_post,
    merchant_account_get,
    merchant_accounts_open,
    platform_account_get,
)
from paysys.audit.models import AuditEvent
from paysys.errors import AccountClosedError, AccountFrozenError, InvalidRequestError
from tests.accounts.conftest import MERCHANT


def move(src, dst, amount, reference):
    return ledger_post(
        reference=reference,
        kind="transfer",
        lines=[
            PostingLine(src.pk, Money(-Decimal(amount), "EUR")),
            PostingLine(dst.pk, Money(Decimal(amount), "EUR")),
        ],
    )


def test_a_frozen_account_neither_sends_nor_receives_until_unfrozen(wallet_factory):
    a, b = wallet_factory(funded="10.00"), wallet_factory(funded="10.00")
    account_freeze(account_id=a.public_id, reason="kyc")
    with pytest.raises(AccountFrozenError):
        move(a, b, "1", "out")
    with pytest.raises(AccountFrozenError):
        move(b, a, "1", "in")
    account_unfreeze(account_id=a.public_id, reason="kyc_ok")
    move(b, a, "1", "in-again")
    assert LedgerAccount.objects.get(pk=a.pk).status == AccountStatus.OPEN


def test_status_changes_leave_history_and_audit_rows(wallet_factory):
    a = wallet_factory()
    account_freeze(account_id=a.pk, reason="kyc")
    assert a.history.count() == 2  # opened, frozen
    audit = AuditEvent.objects.get(object_id=a.public_id, event_type="ledger.account.frozen")
    assert (audit.previous_state, audit.new_state, audit.reason_code) == ("open", "frozen", "kyc")


def test_an_account_with_a_balance_cannot_be_closed(wallet_factory):
    a = wallet_factory(funded="1.00")
    with pytest.raises(AccountNotEmptyError):
        account_close(account_id=a.pk, reason="customer_request")


def test_a_closed_account_receives_nothing(wallet_factory):
    a, b = wallet_factory(), wallet_factory(funded="5.00")
    account_close(account_id=a.pk, reason="customer_request")
    with pytest.raises(AccountClosedError) as exc:
        move(b, a, "1", "late")
    assert exc.value.code == "account_closed"
    with pytest.raises(AccountClosedError):
        account_unfreeze(account_id=a.pk, reason="oops")


@pytest.mark.django_db
def test_merchant_accounts_open_is_idempotent():
    first = merchant_accounts_open(merchant_id=MERCHANT, currency="EUR")
    second = merchant_accounts_open(merchant_id=MERCHANT, currency="eur")
    assert set(first) == {"pending", "available", "reserve"}
    assert {k: v.pk for k, v in first.items()} == {k: v.pk for k, v in second.items()}
    assert not first["available"].allow_negative


@pytest.mark.django_db
def test_merchant_account_get_opens_the_currency_on_first_use_then_reads_it(django_assert_num_queries):
    pending = merchant_account_get(merchant_id=MERCHANT, kind=AccountKind.PENDING, currency="jpy")
    assert (pending.kind, pending.currency, pending.owner_type) == ("pending", "JPY", OwnerType.MERCHANT)
    assert LedgerAccount.objects.filter(merchant_id=MERCHANT, currency="JPY").count() == 3
    with django_assert_num_queries(1):
        again = merchant_account_get(merchant_id=MERCHANT, kind=AccountKind.PENDING, currency="JPY")
    assert again.pk == pending.pk


@pytest.mark.django_db
def test_platform_accounts_are_one_per_kind_and_currency_and_may_go_negative():
    clearing = platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR")
    assert clearing.pk == platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR").pk
    assert clearing.allow_negative and clearing.owner_type == OwnerType.PLATFORM
    assert clearing.public_id.startswith("acct_")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("owner_type", "merchant_id", "kind", "currency"),
    [
        (OwnerType.CUSTOMER, MERCHANT, AccountKind.FEES, "EUR"),
        (OwnerType.PLATFORM, MERCHANT, AccountKind.FEES, "EUR"),
        (OwnerType.CUSTOMER, "", AccountKind.WALLET, "EUR"),
        (OwnerType.CUSTOMER, MERCHANT, AccountKind.WALLET, "XXX"),
    ],
)
def test_inconsistent_accounts_are_not_opened(owner_type, merchant_id, kind, currency):
    with pytest.raises(InvalidRequestError):
        account_open(owner_type=owner_type, merchant_id=merchant_id, kind=kind, currency=currency)


def test_a_frozen_overdraft_account_cannot_send_either(wallet_factory):
    # An overdraft wallet's debits land on its shards; it may pay only the platform.
    clearing, fees = (
        wallet_factory(allow_negative=True),
        platform_account_get(kind=AccountKind.FEES, currency="EUR"),
    )
    move(clearing, fees, "1", "before")
    account_freeze(account_id=clearing.pk, reason="incident")
    with pytest.raises(AccountFrozenError):
        move(clearing, fees, "1", "after")
