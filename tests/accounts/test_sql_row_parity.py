"""Rows the database's ledger function writes cannot drift from their models.

``ledger_transfer_create`` (with ``audit_append``) inserts a transfer, its history row, a journal
transaction, two entries, an audit row and an event with column lists of its own. The test makes
the same transfer through the function, then writes the same request's rows with the models'
own ``save()`` (simple-history's signal writes the history row), and compares every concrete
field of every model, so a column added to a model and forgotten by the SQL (a NULL where
``save()`` writes the default) fails here. Only ``KIND_ONLY`` fields differ by construction;
they are compared by type and nullness. Ids of the rows the test made are named, so a value
that embeds one (a reference, a payload) compares by name, and so does the transfer's time in
its event payload.
"""

import json
import re
from decimal import Decimal

from django.db import models, transaction
from moneyed import Money

from accounts.models import Entry, JournalTransaction, TransactionKind, Transfer
from accounts.services import transfer_create, transfer_object
from paysys.audit.chain import audit_row_hash
from paysys.audit.context import actor_scope
from paysys.audit.models import AuditEvent
from paysys.audit.selectors import audit_chain_verify
from paysys.audit.services import audit_event_build
from paysys.correlation import correlation_scope
from paysys.events.models import Event
from paysys.events.services import event_build
from tests.accounts.conftest import MERCHANT

# Primary keys, random public ids, timestamps and the audit hash chain: their values differ
# between two writes of one request by construction.
KIND_ONLY = frozenset(
    {
        "id",
        "history_id",
        "public_id",
        "event_id",
        "created",
        "updated",
        "history_date",
        "chain",
        "seq",
        "prev_hash",
        "hash",
    }
)
ID = re.compile(r"\b(?:txn|tr|evt|aud|acct)_[0-9A-Za-z]{24}\b")
AMOUNT = Money("12.34", "EUR")


def _row(instance: models.Model, names: dict) -> dict[str, object]:
    """Every concrete field of ``instance`` as stored, made comparable with its twin's."""
    stored = type(instance)._base_manager.get(pk=instance.pk)
    row = {}
    for field in type(stored)._meta.concrete_fields:
        value = getattr(stored, field.attname)
        if field.attname in KIND_ONLY:
            row[field.attname] = ("kind", type(value).__name__, value is None)
            continue
        if field.is_relation:
            value = names.get((field.related_model, value), value)
        # JSON compares as data (jsonb keeps no key order).
        text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else repr(value)
        for public_id, name in names.items():
            if isinstance(public_id, str):
                text = text.replace(public_id, name)
        assert not ID.search(text), f"{field.attname}: an id the test did not name: {text}"
        row[field.attname] = text
    return row


def _differences(by_sql: dict, by_orm: dict) -> dict:
    return {name: (by_sql[name], by_orm[name]) for name in by_sql if by_sql[name] != by_orm[name]}


def _name(names: dict, name: str, *rows: models.Model) -> None:
    for row in rows:
        names[row.public_id] = name
        names[(type(row), row.pk)] = name


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
    audit, _ = audit_event_build(
        event_type="transfer.created",
        object_type="transfer",
        object_id=transfer.public_id,
        new_state=transfer.status,
        amount=transfer.amount,
        currency=transfer.currency,
        merchant_id=MERCHANT,
        metadata={"transaction": txn.public_id, "reference": txn.reference},
    )
    head = AuditEvent.objects.get(object_id=transfer_by_sql.public_id)
    audit.chain, audit.seq, audit.prev_hash = head.chain, head.seq + 1, head.hash
    audit.hash = audit_row_hash(
        {f.attname: getattr(audit, f.attname) for f in AuditEvent._meta.concrete_fields}
    )
    audit.save(force_insert=True)
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


def test_the_transfer_function_writes_every_field_as_save_does(wallet_factory, settings):
    settings.LEDGER_TRANSFER_IN_DATABASE = True
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
            compared = {key: (_row(by_sql[key], names), _row(by_orm[key], names)) for key in by_sql}
            transaction.set_rollback(True)

    for key, (sql_row, _) in compared.items():
        assert set(sql_row) == {f.attname for f in type(by_sql[key])._meta.concrete_fields}
    drift = {key: _differences(*rows) for key, rows in compared.items()}
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
