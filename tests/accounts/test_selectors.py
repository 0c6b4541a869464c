from decimal import Decimal

from moneyed import Money

from accounts.models import AccountKind
from accounts.selectors import account_balance_get, balance_for_merchant, entry_list
from accounts.services import (
    PostingLine,
    hold_place,
    ledger_post,
    merchant_accounts_open,
    platform_account_get,
)
from tests.accounts.conftest import MERCHANT, TENANT


def _capture(accounts, amount: str, reference: str):
    clearing = platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR")
    ledger_post(
        reference=reference,
        kind="capture",
        lines=[
            PostingLine(clearing.pk, Money(f"-{amount}", "EUR")),
            PostingLine(accounts["pending"].pk, Money(amount, "EUR")),
        ],
        merchant_id=MERCHANT,
    )


def test_merchant_balance_reports_available_pending_and_reserved_per_currency(db):
    eur = merchant_accounts_open(merchant_id=MERCHANT, currency="EUR")
    merchant_accounts_open(merchant_id=MERCHANT, currency="JPY")
    _capture(eur, "100.00", "cap-1")
    ledger_post(
        reference="settle-1",
        kind="settlement",
        lines=[
            PostingLine(eur["pending"].pk, Money("-60", "EUR")),
            PostingLine(eur["available"].pk, Money("50", "EUR")),
            PostingLine(eur["reserve"].pk, Money("10", "EUR")),
        ],
        merchant_id=MERCHANT,
    )
    hold_place(account_id=eur["available"].pk, amount=Money("5", "EUR"), reference="payout-hold")
    balances = balance_for_merchant(tenant=TENANT)
    assert set(balances) == {"EUR", "JPY"}
    assert balances["EUR"].available == Money("45", "EUR")
    assert balances["EUR"].pending == Money("40", "EUR")
    assert balances["EUR"].reserved == Money("10", "EUR")
    assert balances["JPY"].available == Money(0, "JPY")


def test_balance_reads_do_not_grow_with_the_number_of_entries(db, django_assert_num_queries):
    accounts = merchant_accounts_open(merchant_id=MERCHANT, currency="EUR")
    _capture(accounts, "1.00", "cap-0")
    with django_assert_num_queries(1):
        balance_for_merchant(tenant=TENANT)
    with django_assert_num_queries(1):
        account_balance_get(account_id=accounts["pending"].public_id)
    for n in range(1, 30):
        _capture(accounts, "1.00", f"cap-{n}")
    with django_assert_num_queries(1):
        assert balance_for_merchant(tenant=TENANT)["EUR"].pending == Money(30, "EUR")
    with django_assert_num_queries(1):
        assert account_balance_get(account_id=accounts["pending"].public_id).posted == Money(30, "EUR")


def test_entries_are_listed_newest_first_with_their_transaction(db):
    accounts = merchant_accounts_open(merchant_id=MERCHANT, currency="EUR")
    _capture(accounts, "1.00", "cap-a")
    _capture(accounts, "2.00", "cap-b")
    entries = list(entry_list(account_id=accounts["pending"].public_id, tenant=TENANT))
    assert [e.transaction.reference for e in entries] == ["cap-b", "cap-a"]
    assert [e.balance_after for e in entries] == [Decimal("3.000"), Decimal("1.000")]
    assert entries[0].transaction.kind == "capture"
