"""Rows the database's ledger function writes cannot drift from their models.

``ledger_transfer_create`` (with ``audit_append``) inserts a transfer, its history row, a journal
transaction, two entries, an audit row and an event with column lists of its own. The test makes
the same transfer through the function, then writes the same request's rows with the models'
own ``save()`` (simple-history's signal writes the history row), and compares every concrete
field of every model (tests/row_parity.py), so a column added to a model and forgotten by the
SQL (a NULL where ``save()`` writes the default) fails here: the last test adds such a column to
each model the function writes and sees the walk fail. The transfer's time in its event payload
is named like the ids. ``ledger_post`` and ``ledger_reverse`` (the same function, no transfer)
are walked likewise.
"""

from contextlib import ExitStack, contextmanager
from decimal import Decimal

import pytest
from django.db import connection, models, transaction
from moneyed import Money

from accounts.models import Entry, JournalTransaction, TransactionKind, Transfer
from accounts.services import PostingLine, ledger_post, ledger_reverse, transfer_create, transfer_object
from paysys.audit.chain import audit_row_hash
from paysys.audit.context import actor_scope
from paysys.audit.models import AuditChainHead, AuditEvent
from paysys.audit.selectors import audit_chain_verify
from paysys.audit.services import audit_event_build
from paysys.correlation import correlation_scope
from paysys.events.models import Event
from paysys.events.services import event_build
from tests.accounts.conftest import MERCHANT
from tests.row_parity import row_differences, row_fields

AMOUNT = Money("12.34", "EUR")


def _name(names: dict, name: str, *rows: models.Model) -> None:
    for row in rows:
        names[row.public_id] = name
        names[(type(row), row.pk)] = name


def _audit_saved(*, after: AuditEvent, **fields) -> AuditEvent:
    """The audit row ``fields`` make, saved by the model at the end of ``after``'s chain."""
    audit, _ = audit_event_build(**fields)
    head = AuditChainHead.objects.get(chain=after.chain)
    audit.chain, audit.seq, audit.prev_hash = head.chain, head.seq + 1, head.hash
    audit.hash = audit_row_hash(
        {f.attname: getattr(audit, f.attname) for f in AuditEvent._meta.concrete_fields}
    )
    audit.save(force_insert=True)
    return audit


def _orm_rows(transfer_by_sql: Transfer, source, destination) -> dict[str, models.Model]:
    """The same request's rows written by the models' own ``save()``."""
    txn = JournalTransaction(
        kind=TransactionKind.TRANSFER, description="rent", merchant_id=MERCHANT, reference=""
    )
    transfer = Transfer(
        merchant_id=MERCHANT,
        from_account=source,
        to_account=destination,
        amount=AMOUNT.amount,
        currency=AMOUNT.currency.code,
        description="rent",
        metadata={"order": "42"},
        transaction=txn,
    )
    txn.reference = f"transfer:{transfer.public_id}"
    txn.metadata = {"transfer": transfer.public_id}
    txn.save()
    entries = [
        Entry(
            transaction=txn,
            account=source,
            amount=-AMOUNT.amount,
            currency="EUR",
            balance_after=Decimal("17.66"),
        ),
        Entry(
            transaction=txn,
            account=destination,
            amount=AMOUNT.amount,
            currency="EUR",
            balance_after=AMOUNT.amount,
        ),
    ]
    for entry in sorted(entries, key=lambda e: e.account_id):
        entry.save()
    transfer.transaction = txn
    transfer.save()
    audit = _audit_saved(
        after=AuditEvent.objects.get(object_id=transfer_by_sql.public_id),
        event_type="transfer.created",
        object_type="transfer",
        object_id=transfer.public_id,
        new_state=transfer.status,
        amount=transfer.amount,
        currency=transfer.currency,
        merchant_id=MERCHANT,
        metadata={"transaction": txn.public_id, "reference": txn.reference},
    )
    event = event_build(
        event_type="transfer.created",
        merchant_id=MERCHANT,
        object_type="transfer",
        data={"object": transfer_object(transfer)},
        livemode=source.livemode,
    )
    event.save(force_insert=True)
    return {
        "transaction": txn,
        "entry_from": entries[0],
        "entry_to": entries[1],
        "transfer": transfer,
        "history": transfer.history.get(),
        "audit": audit,
        "event": event,
    }


def _transfer_compared(wallet_factory) -> dict[str, tuple[dict, dict]]:
    """Every row of one transfer as the function wrote it and as ``save()`` writes it."""
    source, destination = wallet_factory(funded="30.00"), wallet_factory()
    names = {source.public_id: "<source>", destination.public_id: "<destination>"}
    with (
        actor_scope(actor_type="api", actor_id="key_test", ip="203.0.113.9", idempotency_key="idem-1"),
        correlation_scope("req-parity"),
    ):
        transfer = transfer_create(
            merchant_id=MERCHANT,
            from_account_id=source.public_id,
            to_account_id=destination.public_id,
            amount=AMOUNT,
            description="rent",
            metadata={"order": "42"},
        )
        txn = JournalTransaction.objects.get(pk=transfer.transaction_id)
        by_sql = {
            "transaction": txn,
            "entry_from": Entry.objects.get(transaction=txn, account=source),
            "entry_to": Entry.objects.get(transaction=txn, account=destination),
            "transfer": transfer,
            "history": transfer.history.get(),
            "audit": AuditEvent.objects.get(object_id=transfer.public_id),
            "event": Event.objects.get(object_id=transfer.public_id),
        }
        with transaction.atomic():
            by_orm = _orm_rows(transfer, source, destination)
            for rows in (by_sql, by_orm):
                _name(names, "<transfer>", rows["transfer"])
                # Each transfer's own time, which its event payload shows.
                names[transfer_object(Transfer.objects.get(pk=rows["transfer"].pk))["created"]] = "<created>"
                _name(names, "<txn>", rows["transaction"])
                _name(names, "<event>", rows["event"])
                names[rows["audit"].event_id] = "<audit>"
            compared = {
                key: (row_fields(by_sql[key], names), row_fields(by_orm[key], names)) for key in by_sql
            }
            transaction.set_rollback(True)

    return compared


def test_the_transfer_function_writes_every_field_as_save_does(wallet_factory):
    compared = _transfer_compared(wallet_factory)
    drift = {key: row_differences(*rows) for key, rows in compared.items()}
    assert {key: found for key, found in drift.items() if found} == {}, (
        "the SQL wrote other values than save()"
    )
    # The comparison saw the request's values, not only defaults.
    assert compared["transfer"][0]["description"] == "'rent'"
    assert compared["entry_from"][0]["balance_after"] == "Decimal('17.660')"
    assert compared["history"][0]["history_change_reason"] == "'api:key_test req-parity'"
    assert compared["audit"][0]["ip_address"] == compared["audit"][1]["ip_address"] != "None"
    # The twin rows are gone: the chain the function extended is intact.
    assert audit_chain_verify().ok


@contextmanager
def _column_added(model: type[models.Model], field: models.Field):
    """``field`` on ``model`` for the test: a column added to its table (rolled back with the
    test's transaction) and the field on the class, as a migration would add them."""
    with connection.schema_editor(atomic=False) as editor:
        field.set_attributes_from_name("parity_probe")
        field.model = model
        editor.add_field(model, field)
        # The column has no database default, like any column Django adds: save() writes the
        # field's default, an INSERT that does not name the column writes NULL.
        editor.execute(f"ALTER TABLE {model._meta.db_table} ALTER COLUMN parity_probe DROP DEFAULT")
    field.contribute_to_class(model, "parity_probe")
    try:
        yield
    finally:
        model._meta.local_fields.remove(field)
        model._meta._expire_cache()
        delattr(model, "parity_probe")


@pytest.mark.parametrize(
    ("added_to", "keys"),
    [
        # A transfer's column is its history's too (simple-history copies it).
        ((Transfer, Transfer.history.model), ("transfer", "history")),
        ((JournalTransaction,), ("transaction",)),
        ((Entry,), ("entry_from", "entry_to")),
        ((Event,), ("event",)),
        ((AuditEvent,), ("audit",)),
    ],
    ids=["transfer", "journal_transaction", "entry", "event", "audit"],
)
def test_a_column_the_sql_does_not_write_fails_the_walk(wallet_factory, added_to, keys):
    with ExitStack() as stack:
        for model in added_to:
            stack.enter_context(
                _column_added(model, models.CharField(max_length=20, null=True, default="probe"))
            )
        compared = _transfer_compared(wallet_factory)
    drift = {key: row_differences(*rows) for key, rows in compared.items()}
    assert {key: found for key, found in drift.items() if found} == {
        key: {"parity_probe": ("None", "'probe'")} for key in keys
    }


def test_a_posting_writes_every_field_as_save_does(wallet_factory):
    source, destination = wallet_factory(funded="30.00"), wallet_factory()
    lines = [
        PostingLine(account_id=source.pk, amount=-AMOUNT),
        PostingLine(account_id=destination.pk, amount=AMOUNT),
    ]
    fields = {"kind": TransactionKind.ADJUSTMENT, "description": "move", "merchant_id": MERCHANT}
    with correlation_scope("req-posting"):
        posted = ledger_post(
            reference="post-a", lines=lines, metadata={"why": "parity"}, **fields
        ).transaction
        reversal = ledger_reverse(transaction_id=posted.pk, reference="undo-a").transaction
        by_sql = {"posted": posted, "reversal": reversal}
        for key, txn in list(by_sql.items()):
            by_sql |= {f"{key} {e.account_id}": e for e in Entry.objects.filter(transaction=txn)}
        by_sql["audit"] = AuditEvent.objects.get(object_id=posted.public_id)
        with transaction.atomic():
            twin = JournalTransaction(reference="post-b", metadata={"why": "parity"}, **fields)
            twin.save()
            twin_reversal = JournalTransaction(
                reference="undo-b",
                kind=TransactionKind.REVERSAL,
                description=f"Reversal of {twin.public_id}",
                metadata={"reverses": twin.public_id},
                merchant_id=MERCHANT,
                reverses=twin,
            )
            twin_reversal.save()
            by_orm = {"posted": twin, "reversal": twin_reversal}
            for txn, sign, after in (
                (twin, 1, {source.pk: "17.66", destination.pk: "12.34"}),
                (twin_reversal, -1, {source.pk: "30.00", destination.pk: "0.00"}),
            ):
                for line in lines:
                    entry = Entry(
                        transaction=txn,
                        account_id=line.account_id,
                        amount=sign * line.amount.amount,
                        currency="EUR",
                        balance_after=Decimal(after[line.account_id]),
                    )
                    entry.save()
                    by_orm[f"{'posted' if sign == 1 else 'reversal'} {line.account_id}"] = entry
            by_orm["audit"] = _audit_saved(
                after=by_sql["audit"],
                event_type="ledger.transaction.posted",
                object_type="journal_transaction",
                object_id=twin.public_id,
                new_state="posted",
                amount=AMOUNT.amount,
                currency="EUR",
                merchant_id=MERCHANT,
                metadata={"reference": "post-b", "kind": TransactionKind.ADJUSTMENT},
            )
            names = {}
            for rows in (by_sql, by_orm):
                _name(names, "<posted>", rows["posted"])
                _name(names, "<reversal>", rows["reversal"])
                names[rows["audit"].event_id] = "<audit>"
            names |= {
                "post-a": "<reference>",
                "post-b": "<reference>",
                "undo-a": "<reversal reference>",
                "undo-b": "<reversal reference>",
            }
            compared = {
                key: (row_fields(by_sql[key], names), row_fields(by_orm[key], names)) for key in by_sql
            }
            transaction.set_rollback(True)

    assert set(by_sql) == set(by_orm) and len(by_sql) == 7
    drift = {key: row_differences(*rows) for key, rows in compared.items()}
    assert {key: found for key, found in drift.items() if found} == {}, (
        "the SQL wrote other values than save()"
    )
    assert compared["reversal"][0]["reverses_id"] == "'<posted>'"
    assert audit_chain_verify().ok
