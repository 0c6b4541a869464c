from decimal import Decimal

import pytest
from moneyed import Money

from accounts.errors import CurrencyMismatchError, ReferenceConflictError, UnbalancedPostingError
from accounts.models import AccountKind, Entry, JournalTransaction
from accounts.selectors import account_balance_get, account_get
from accounts.services import PostingLine, account_freeze, ledger_post, platform_account_get
from paysys.audit.models import AuditEvent
from paysys.errors import InsufficientFundsError
from tests.accounts.conftest import fund


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def test_credit_is_positive_and_debit_negative_for_the_account_holder(wallet_factory):
    wallet = wallet_factory()
    fund(wallet, Decimal("25.00"))
    balance = account_balance_get(account_id=wallet.public_id)
    assert balance.posted == eur("25.00")
    assert balance.available == eur("25.00")
    entry = Entry.objects.get(account=wallet)
    assert entry.amount == Decimal("25.000")
    assert entry.balance_after == Decimal("25.000")
    funding = platform_account_get(kind=AccountKind.WALLET_FUNDING, currency="EUR")
    assert Entry.objects.get(account=funding).amount == Decimal("-25.000")
    assert account_get(account_id=funding.pk).posted == Decimal("-25.000")


def test_balances_of_a_currency_sum_to_zero(wallet_factory):
    a, b = wallet_factory(funded="100.00"), wallet_factory(funded="40.00")
    ledger_post(
        reference="move-1",
        kind="transfer",
        lines=[PostingLine(a.pk, eur("-30.00")), PostingLine(b.public_id, eur("30.00"))],
    )
    from accounts.selectors import account_list

    assert sum(acc.posted for acc in account_list(currency="eur")) == 0
    assert account_get(account_id=a.pk).posted == Decimal("70.000")
    assert account_get(account_id=b.pk).posted == Decimal("70.000")


def test_same_reference_twice_yields_one_transaction(wallet_factory):
    a, b = wallet_factory(funded="10.00"), wallet_factory()
    lines = [PostingLine(a.pk, eur("-4.00")), PostingLine(b.pk, eur("4.00"))]
    first = ledger_post(reference="once", kind="transfer", lines=lines)
    second = ledger_post(reference="once", kind="transfer", lines=lines)
    assert first.created and not second.created
    assert second.transaction.public_id == first.transaction.public_id
    assert JournalTransaction.objects.filter(reference="once").count() == 1
    assert account_get(account_id=b.pk).posted == Decimal("4.000")


def test_a_replayed_reference_returns_the_posting_even_when_its_account_could_not_send_it_now(wallet_factory):
    # The reference is checked before status and funds: a retry of a posting that committed
    # gets that posting back, though the account is now empty and frozen.
    a, b = wallet_factory(funded="10.00"), wallet_factory()
    lines = [PostingLine(a.pk, eur("-10.00")), PostingLine(b.pk, eur("10.00"))]
    first = ledger_post(reference="spent", kind="transfer", lines=lines)
    account_freeze(account_id=a.pk, reason="kyc")
    again = ledger_post(reference="spent", kind="transfer", lines=lines)
    assert not again.created
    assert again.transaction.public_id == first.transaction.public_id
    assert account_get(account_id=a.pk).posted == Decimal("0.000")


def test_same_reference_with_other_lines_is_a_conflict_naming_the_existing_transaction(wallet_factory):
    a, b = wallet_factory(funded="10.00"), wallet_factory()
    first = ledger_post(
        reference="ref-x",
        kind="transfer",
        lines=[PostingLine(a.pk, eur("-4.00")), PostingLine(b.pk, eur("4.00"))],
    )
    with pytest.raises(ReferenceConflictError) as exc:
        ledger_post(
            reference="ref-x",
            kind="transfer",
            lines=[PostingLine(a.pk, eur("-5.00")), PostingLine(b.pk, eur("5.00"))],
        )
    assert exc.value.extra["transaction"] == first.transaction.public_id


def test_unbalanced_lines_are_refused_before_touching_the_database(wallet_factory):
    a, b = wallet_factory(funded="10.00"), wallet_factory()
    with pytest.raises(UnbalancedPostingError):
        ledger_post(
            reference="bad",
            kind="transfer",
            lines=[PostingLine(a.pk, eur("-4.00")), PostingLine(b.pk, eur("3.99"))],
        )
    assert not JournalTransaction.objects.filter(reference="bad").exists()


def test_amount_finer_than_the_minor_unit_is_refused(wallet_factory):
    a, b = wallet_factory(funded="10.00"), wallet_factory()
    with pytest.raises(Exception, match="minor units"):
        ledger_post(
            reference="fine",
            kind="transfer",
            lines=[PostingLine(a.pk, eur("-0.005")), PostingLine(b.pk, eur("0.005"))],
        )


def test_debit_beyond_the_balance_is_insufficient_funds(wallet_factory):
    a, b = wallet_factory(funded="10.00"), wallet_factory()
    with pytest.raises(InsufficientFundsError) as exc:
        ledger_post(
            reference="over",
            kind="transfer",
            lines=[PostingLine(a.pk, eur("-10.01")), PostingLine(b.pk, eur("10.01"))],
        )
    assert exc.value.code == "insufficient_funds"
    assert account_get(account_id=a.pk).posted == Decimal("10.000")


def test_overdraft_account_may_go_negative(wallet_factory):
    # Towards the platform: an overdraft never funds an account a merchant owns (test_overdraft).
    a, b = wallet_factory(allow_negative=True), platform_account_get(kind=AccountKind.FEES, currency="EUR")
    ledger_post(
        reference="neg",
        kind="transfer",
        lines=[PostingLine(a.pk, eur("-7.00")), PostingLine(b.pk, eur("7.00"))],
    )
    assert account_get(account_id=a.pk).posted == Decimal("-7.000")


def test_posting_to_an_account_of_another_currency_is_refused(wallet_factory):
    a, usd = wallet_factory(funded="10.00"), wallet_factory(currency="USD")
    with pytest.raises(CurrencyMismatchError):
        ledger_post(
            reference="cur",
            kind="transfer",
            lines=[PostingLine(a.pk, eur("-1.00")), PostingLine(usd.pk, eur("1.00"))],
        )


def test_each_posting_writes_an_audit_row(wallet_factory):
    a = wallet_factory()
    result = fund(a, Decimal("3.00"))
    audit = AuditEvent.objects.get(object_type="journal_transaction", object_id=result.transaction.public_id)
    assert audit.amount == Decimal("3.000")
    assert audit.metadata["reference"] == result.transaction.reference


# One call of the database function ``ledger_post`` (the transaction, locks, shards, entries,
# balances and the audit row). Plus the savepoint and its release: inside the test case's
# transaction the posting nests (accounts.services.unit_of_work).
POSTING_QUERIES = 1 + 2


def test_posting_runs_a_fixed_number_of_queries(wallet_factory, django_assert_num_queries):
    a, b = wallet_factory(funded="50.00"), wallet_factory()
    lines = [PostingLine(a.pk, eur("-1.00")), PostingLine(b.pk, eur("1.00"))]
    ledger_post(reference="warm", kind="transfer", lines=lines)
    with django_assert_num_queries(POSTING_QUERIES):
        ledger_post(reference="counted", kind="transfer", lines=lines)


def test_inside_a_callers_transaction_the_posting_commits_or_rolls_back_with_it(wallet_factory):
    from django.db import transaction

    a, b = wallet_factory(funded="10.00"), wallet_factory()
    with pytest.raises(RuntimeError), transaction.atomic():
        ledger_post(
            reference="joined",
            kind="transfer",
            lines=[PostingLine(a.pk, eur("-1.00")), PostingLine(b.pk, eur("1.00"))],
        )
        raise RuntimeError("the caller's business step failed")
    assert not JournalTransaction.objects.filter(reference="joined").exists()
    assert account_get(account_id=b.pk).posted == Decimal("0.000")


def test_ledger_reverse_posts_the_mirror_image_once(wallet_factory):
    from accounts.services import ledger_reverse

    a, b = wallet_factory(funded="10.00"), wallet_factory()
    original = ledger_post(
        reference="to-undo",
        kind="transfer",
        lines=[PostingLine(a.pk, eur("-3.00")), PostingLine(b.pk, eur("3.00"))],
    ).transaction
    first = ledger_reverse(transaction_id=original.public_id)
    again = ledger_reverse(transaction_id=original.public_id)
    assert first.created and not again.created
    assert first.transaction.reverses_id == original.pk
    assert account_get(account_id=a.pk).posted == Decimal("10.000")
    assert account_get(account_id=b.pk).posted == Decimal("0.000")
    assert Entry.objects.filter(transaction=original).count() == 2
