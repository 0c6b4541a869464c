"""Who owns a ledger write's transaction (accounts/services/unit_of_work.py): inside a caller's
transaction a posting nests in a savepoint, so a refusal raised by the database leaves the
caller's transaction usable; with nothing open the entry point owns the transaction."""

import pytest
from django.db import connection, transaction
from moneyed import Money

from accounts.models import Entry, JournalTransaction
from accounts.services import PostingLine, ledger_post
from paysys.errors import InsufficientFundsError


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def test_a_refused_posting_leaves_the_callers_transaction_usable(wallet_factory):
    a, b = wallet_factory(funded="5.00"), wallet_factory()
    with transaction.atomic():
        with pytest.raises(InsufficientFundsError):
            ledger_post(
                reference="too-much",
                kind="transfer",
                lines=[PostingLine(a.pk, eur("-6.00")), PostingLine(b.pk, eur("6.00"))],
            )
        # The database refused inside a savepoint: the caller goes on in the same transaction.
        assert not connection.needs_rollback
        ledger_post(
            reference="enough",
            kind="transfer",
            lines=[PostingLine(a.pk, eur("-5.00")), PostingLine(b.pk, eur("5.00"))],
        )
    assert not JournalTransaction.objects.filter(reference="too-much").exists()
    assert Entry.objects.filter(transaction__reference="enough").count() == 2


@pytest.mark.django_db(transaction=True)
def test_with_nothing_open_the_posting_owns_and_commits_its_transaction(wallet_factory):
    a, b = wallet_factory(funded="5.00"), wallet_factory()
    assert connection.get_autocommit()
    ledger_post(
        reference="owned",
        kind="transfer",
        lines=[PostingLine(a.pk, eur("-1.00")), PostingLine(b.pk, eur("1.00"))],
    )
    # Committed: another connection's view (a fresh one after closing ours) sees it.
    connection.close()
    assert JournalTransaction.objects.filter(reference="owned").exists()
