"""A transfer is one call of the database function ``ledger_transfer_create``, which posts through
``ledger_post``: outside a transaction it is one statement, and its refusals change nothing.
(Its rows are compared field by field with the models' own in test_sql_row_parity.py.)"""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from accounts.models import Entry, Transfer
from accounts.selectors import account_get
from accounts.services import (
    account_close,
    account_freeze,
    account_unfreeze,
    hold_place,
    transfer_create,
    transfer_reverse,
)
from paysys.audit.models import AuditEvent
from paysys.audit.selectors import audit_chain_verify
from paysys.errors import AccountClosedError, AccountFrozenError, InsufficientFundsError
from paysys.events.models import Event
from tests.accounts.conftest import MERCHANT


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_transfer_is_one_statement(wallet_factory):
    source, destination = wallet_factory(funded="5.00"), wallet_factory()
    with CaptureQueriesContext(connection) as captured:
        transfer = transfer_create(
            merchant_id=MERCHANT,
            from_account_id=source.public_id,
            to_account_id=destination.public_id,
            amount=Money("1.00", "EUR"),
        )
    statements = [q["sql"] for q in captured.captured_queries]
    # The call itself (its own transaction: no BEGIN, no COMMIT), then after it the webhook
    # fan-out's read of the merchant's endpoints.
    assert len(statements) == 2, statements
    assert "ledger_transfer_create(" in statements[0]
    assert "events_webhookendpoint" in statements[1]
    # A transfer made by the function reverses like any other.
    reversed_ = transfer_reverse(merchant_id=MERCHANT, transfer_id=transfer.public_id)
    assert reversed_.status == "reversed"
    assert audit_chain_verify().ok


def test_held_funds_and_a_frozen_or_closed_source_are_refused_and_change_nothing(wallet_factory):
    source, destination, empty = wallet_factory(funded="10.00"), wallet_factory(), wallet_factory()
    hold_place(account_id=source.public_id, amount=Money("8.00", "EUR"), reference="hold-1")

    def attempt(from_account, amount):
        transfer_create(
            merchant_id=MERCHANT,
            from_account_id=from_account.public_id,
            to_account_id=destination.public_id,
            amount=Money(amount, "EUR"),
        )

    before = (
        Entry.objects.count(),
        Transfer.objects.count(),
        AuditEvent.objects.count(),
        Event.objects.count(),
    )
    with pytest.raises(InsufficientFundsError, match="Insufficient funds") as refused:
        attempt(source, "2.01")  # 10.00 posted, 8.00 held: 2.00 available
    assert refused.value.param == "amount"
    account_freeze(account_id=source.public_id, reason="test")
    with pytest.raises(AccountFrozenError, match=f"Ledger account {source.public_id} is frozen"):
        attempt(source, "1.00")
    account_close(account_id=empty.public_id, reason="test")
    with pytest.raises(AccountClosedError, match=f"Ledger account {empty.public_id} is closed"):
        attempt(empty, "1.00")
    after = (
        Entry.objects.count(),
        Transfer.objects.count(),
        AuditEvent.objects.count(),
        Event.objects.count(),
    )
    # The freeze and the close wrote their own audit rows; the refused transfers wrote nothing.
    assert after == (before[0], before[1], before[2] + 2, before[3])
    account_unfreeze(account_id=source.public_id, reason="test")
    attempt(source, "2.00")
    assert account_get(account_id=destination.pk).posted == Decimal("2.000")
