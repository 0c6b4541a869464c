"""The two implementations of ``transfer_create``: one call of the database function
``ledger_transfer_create`` and the Python steps (``LEDGER_TRANSFER_IN_DATABASE`` off) write the
same rows. The behaviour tests in
test_transfers.py and the concurrency tests run against both (the ``transfer_path`` fixture)."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from accounts.models import Entry, JournalTransaction, Transfer
from accounts.selectors import account_get
from accounts.services import (
    account_close,
    account_freeze,
    account_unfreeze,
    hold_place,
    transfer_create,
    transfer_reverse,
)
from paysys.audit.chain import CHAINED_FIELDS
from paysys.audit.context import actor_scope
from paysys.audit.models import AuditEvent
from paysys.audit.selectors import audit_chain_verify
from paysys.correlation import correlation_scope
from paysys.errors import AccountClosedError, AccountFrozenError, InsufficientFundsError
from paysys.events.models import Event
from tests.accounts.conftest import MERCHANT

TRANSFER_FIELDS = (
    "merchant_id",
    "amount",
    "currency",
    "description",
    "metadata",
    "status",
    "reversal_transaction_id",
)
# The audit row's chained fields but those that differ by construction (ids, time, position).
AUDIT_FIELDS = tuple(
    f for f in CHAINED_FIELDS if f not in {"event_id", "created", "chain", "seq", "prev_hash"}
)
ID = re.compile(r"\b(?:txn|tr|evt|aud|acct)_[0-9A-Za-z]{24}\b")


def _rows_written(transfer: Transfer, names: dict[str, str], accounts: dict[int, str]) -> dict:
    """The rows one transfer wrote, with ids replaced by the names the test gave them, and
    without the columns that differ by construction (primary keys, timestamps)."""

    def plain(value):
        text = repr(value)
        for public_id, name in names.items():
            text = text.replace(public_id, name)
        assert not ID.search(text), f"an id the test did not name: {text}"
        return text

    txn = JournalTransaction.objects.get(pk=transfer.transaction_id)
    row = Transfer.objects.get(pk=transfer.pk)
    names.update({transfer.public_id: "<transfer>", txn.public_id: "<txn>"})
    entries = Entry.objects.filter(transaction=txn).order_by("id")
    history = Transfer.history.get(id=transfer.pk)
    audit = AuditEvent.objects.get(object_id=transfer.public_id)
    event = Event.objects.get(object_id=transfer.public_id)
    return {
        "txn": plain(
            [txn.kind, txn.reference, txn.description, txn.metadata, txn.merchant_id, txn.reverses_id]
        ),
        "entries": plain([(accounts[e.account_id], e.amount, e.currency, e.balance_after) for e in entries]),
        "transfer": plain(
            [accounts[row.from_account_id], accounts[row.to_account_id]]
            + [getattr(row, f) for f in TRANSFER_FIELDS]
        ),
        "history": plain(
            [history.history_type, history.history_change_reason, history.history_user_id, history.status]
        ),
        "audit": plain([getattr(audit, f) for f in AUDIT_FIELDS]),
        "event": plain(
            [event.type, event.merchant_id, event.object_type, event.livemode, event.correlation_id]
        )
        + plain({key: value for key, value in event.data["object"].items() if key != "created"}),
    }


@pytest.mark.parametrize("by_pk", [False, True], ids=["public_ids", "pks"])
def test_both_paths_write_the_same_rows(wallet_factory, settings, by_pk):
    written = {}
    for in_database in (True, False):
        settings.LEDGER_TRANSFER_IN_DATABASE = in_database
        source, destination = wallet_factory(funded="30.00"), wallet_factory()
        names = {source.public_id: "<source>", destination.public_id: "<destination>"}
        with (
            actor_scope(actor_type="api", actor_id="key_test", ip="203.0.113.9", idempotency_key="idem-1"),
            correlation_scope("req-1"),
        ):
            transfer = transfer_create(
                merchant_id=MERCHANT,
                from_account_id=source.pk if by_pk else source.public_id,
                to_account_id=destination.pk if by_pk else destination.public_id,
                amount=Money("12.34", "EUR"),
                description="rent",
                metadata={"order": "42"},
            )
        written[in_database] = _rows_written(
            transfer, names, {source.pk: "<source>", destination.pk: "<destination>"}
        )
        # What the service returned is what it wrote.
        assert transfer.from_account.public_id == source.public_id
        assert transfer.to_account.public_id == destination.public_id
        assert (
            transfer.transaction.public_id
            == JournalTransaction.objects.get(pk=transfer.transaction_id).public_id
        )
    assert written[True] == written[False]
    assert "rent" in written[True]["transfer"] and "Decimal('12.340')" in written[True]["entries"]
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_transfer_is_one_statement(wallet_factory, settings):
    settings.LEDGER_TRANSFER_IN_DATABASE = True
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


@pytest.mark.usefixtures("transfer_path")
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
