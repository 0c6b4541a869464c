"""The ledger keeps test and live money apart: per-mode charts of accounts, one mode per posting."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from moneyed import Money

from accounts.errors import LivemodeMismatchError
from accounts.models import AccountKind, Entry, JournalTransaction, LedgerAccount
from accounts.selectors import account_get
from accounts.services import (
    PostingLine,
    ledger_post,
    ledger_verify,
    merchant_accounts_open,
    platform_account_get,
    transfer_create,
)
from paysys.errors import NotFoundError
from paysys.tenancy import Tenant
from tests.accounts.conftest import MERCHANT


def test_platform_and_merchant_accounts_exist_once_per_mode(db):
    test_clearing = platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR")
    live_clearing = platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR", livemode=True)
    test_own = merchant_accounts_open(merchant_id=MERCHANT, currency="eur")
    live_own = merchant_accounts_open(merchant_id=MERCHANT, currency="eur", livemode=True)

    assert test_clearing.pk != live_clearing.pk
    assert (test_clearing.livemode, live_clearing.livemode) == (False, True)
    assert (
        platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR", livemode=True).pk
        == live_clearing.pk
    )
    for kind in test_own:
        assert test_own[kind].pk != live_own[kind].pk
        assert (test_own[kind].livemode, live_own[kind].livemode) == (False, True)


def test_a_posting_that_mixes_test_and_live_accounts_is_refused(wallet_factory):
    funding_live = platform_account_get(kind=AccountKind.WALLET_FUNDING, currency="EUR", livemode=True)
    test_wallet = wallet_factory()
    before = (JournalTransaction.objects.count(), Entry.objects.count())

    with pytest.raises(LivemodeMismatchError):
        ledger_post(
            reference="mixed",
            kind="funding",
            lines=[
                PostingLine(account_id=funding_live.pk, amount=Money("-5", "EUR")),
                PostingLine(account_id=test_wallet.pk, amount=Money("5", "EUR")),
            ],
        )

    assert (JournalTransaction.objects.count(), Entry.objects.count()) == before
    assert account_get(account_id=test_wallet.pk).posted == Decimal("0.000")


def test_a_posting_within_one_mode_is_accepted(wallet_factory):
    live_wallet = wallet_factory(livemode=True, funded="7.00")
    assert account_get(account_id=live_wallet.pk).posted == Decimal("7.000")


def test_a_transfer_names_accounts_of_its_mode_only(wallet_factory):
    live_source = wallet_factory(livemode=True, funded="10.00")
    live_destination = wallet_factory(livemode=True)
    test_destination = wallet_factory()

    with pytest.raises(NotFoundError) as other_mode:
        transfer_create(
            merchant_id=MERCHANT,
            livemode=True,
            from_account_id=live_source.public_id,
            to_account_id=test_destination.public_id,
            amount=Money("1.00", "EUR"),
        )
    assert other_mode.value.param == "to_account"
    # The test key names the live accounts: unknown too, even before their currency is compared.
    with pytest.raises(NotFoundError):
        transfer_create(
            merchant_id=MERCHANT,
            from_account_id=live_source.public_id,
            to_account_id=live_destination.public_id,
            amount=Money("1.00", "USD"),
        )

    transfer = transfer_create(
        merchant_id=MERCHANT,
        livemode=True,
        from_account_id=live_source.public_id,
        to_account_id=live_destination.public_id,
        amount=Money("1.00", "EUR"),
    )
    assert transfer.from_account.livemode is True
    assert account_get(account_id=live_destination.pk).posted == Decimal("1.000")


def test_tenant_scope_filters_merchant_and_mode_and_refuses_an_undeclared_model(wallet_factory):
    test_wallet, live_wallet = wallet_factory(), wallet_factory(livemode=True)
    test_tenant = Tenant(merchant_pk=None, merchant_id=MERCHANT, livemode=False)
    live_tenant = Tenant(merchant_pk=None, merchant_id=MERCHANT, livemode=True)
    other = Tenant(merchant_pk=None, merchant_id="mer_someoneelse", livemode=False)

    assert list(test_tenant.scope(LedgerAccount.objects.filter(kind="wallet"))) == [test_wallet]
    assert list(live_tenant.scope(LedgerAccount.objects.filter(kind="wallet"))) == [live_wallet]
    assert not other.scope(LedgerAccount.objects.all()).exists()
    with pytest.raises(AttributeError):
        test_tenant.scope(JournalTransaction.objects.all())


def _raw_mixed_entries(txn, test_wallet, live_wallet):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_entry (transaction_id, account_id, amount, currency, created)"
            " VALUES (%s, %s, 5, 'EUR', now()), (%s, %s, -5, 'EUR', now())",
            [txn.pk, test_wallet.pk, txn.pk, live_wallet.pk],
        )


def test_the_database_refuses_raw_entries_that_mix_modes(wallet_factory):
    test_wallet, live_wallet = wallet_factory(), wallet_factory(livemode=True)
    txn = JournalTransaction.objects.create(kind="adjustment", reference="raw-mixed")

    with pytest.raises(DatabaseError, match="between test and live"), transaction.atomic():
        _raw_mixed_entries(txn, test_wallet, live_wallet)
    assert not Entry.objects.filter(transaction=txn).exists()


@pytest.mark.ledger_corrupted
def test_verify_ledger_names_a_posting_that_mixes_modes_and_each_mode_s_imbalance(wallet_factory):
    test_wallet = wallet_factory()
    live_funding = platform_account_get(kind=AccountKind.WALLET_FUNDING, currency="EUR", livemode=True)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the fixture's pending commit checks now
        cursor.execute("ALTER TABLE accounts_entry DISABLE TRIGGER accounts_entry_one_mode")
        # Balanced overall, so only the mode rules can tell: live money credited to a test wallet.
        posted = ledger_post(
            reference="tampered-mixed",
            kind="funding",
            lines=[
                PostingLine(account_id=live_funding.pk, amount=Money("-5", "EUR")),
                PostingLine(account_id=test_wallet.pk, amount=Money("5", "EUR")),
            ],
        )
        cursor.execute("ALTER TABLE accounts_entry ENABLE TRIGGER accounts_entry_one_mode")

    result = ledger_verify()

    assert not result.ok
    assert {"check": "transaction_mixes_modes", "txn": posted.transaction.public_id} in result.failures
    unbalanced_modes = {row["livemode"] for row in result.failures if row["check"] == "currency_not_zero"}
    assert unbalanced_modes == {False, True}
