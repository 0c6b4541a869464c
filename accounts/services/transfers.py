"""Transfers between two of a merchant's accounts (wallets or ``available``) of one mode, and
their reversal.

``transfer_create`` is the hottest writer, so it is one call of the database function
``ledger_transfer_create`` (accounts/sql/ledger_transfer_create.sql), which finds the accounts,
posts the two lines through ``ledger_post`` (every posting rule) and writes the transfer, its
history row, its audit row and its outbox event. Python checks the amount, renders every value
it can (ids, timestamps, the audit row's canonical text, the event payload) and turns the
function's refusals into domain errors (``accounts.ledger_sql``). Called with no transaction
open, that one statement is the whole transaction (retried on deadlock); otherwise it joins the
caller's unit of work (``unit_of_work``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone
from moneyed import Money

from accounts import ledger_sql
from accounts.errors import TransferReversedError
from accounts.models import (
    AccountKind,
    JournalTransaction,
    LedgerAccount,
    TransactionKind,
    Transfer,
    TransferStatus,
)
from accounts.serializers import transfer_object
from accounts.services.posting import PostingLine, amount_check, lines_post, posting_existing
from accounts.services.unit_of_work import ledger_atomic, ledger_retry, ledger_unit
from paysys.audit.history import history_stamp
from paysys.audit.services import audit_append_args, audit_event_build, audit_record
from paysys.errors import InvalidRequestError, NotFoundError
from paysys.events.models import Event
from paysys.events.services import event_announce, event_build, event_emit
from paysys.tenancy import Tenant

# Accounts a merchant may move money between with a transfer (API.md: wallets or `available`).
TRANSFERABLE_KINDS = frozenset({AccountKind.WALLET, AccountKind.AVAILABLE})
# The event's columns the function reads from its JSON argument (the merchant and time are their own).
_EVENT_FIELDS = ("public_id", "type", "object_type", "object_id", "data", "livemode", "correlation_id")


def _ledger_tenant(merchant_id: str, livemode: bool) -> Tenant:
    """The ledger knows merchants by public id only."""
    return Tenant(merchant_pk=None, merchant_id=merchant_id, livemode=livemode)


def transfer_create(
    *,
    merchant_id: str,
    from_account_id: int | str,
    to_account_id: int | str,
    amount: Money,
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
    reference: str | None = None,
    livemode: bool = False,
) -> Transfer:
    """Move ``amount`` between two of the merchant's accounts (wallets or ``available``) of one
    mode: an account of the other mode is not found, like an unknown one.

    With a ``reference`` the transfer is idempotent: the same reference returns the transfer
    already made. Emits ``transfer.created``.
    """
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise InvalidRequestError(
            "A transfer amount must be positive.", code="invalid_amount", param="amount"
        )
    amount_check(amount)
    call = _TransferCall.build(
        merchant_id=merchant_id,
        livemode=livemode,
        from_account_id=from_account_id,
        to_account_id=to_account_id,
        amount=amount,
        description=description,
        metadata=dict(metadata or {}),
        reference=reference,
    )
    if connection.get_autocommit() and call.audit_fields is None:
        # One statement is the whole transaction: no BEGIN/COMMIT around it.
        return ledger_retry(call.run)
    return ledger_unit(call.run)


def _transfer_created_audit(transfer: Transfer, txn: JournalTransaction) -> dict[str, Any]:
    """The ``transfer.created`` audit row's fields (``audit_event_build``'s arguments)."""
    return {
        "event_type": "transfer.created",
        "object_type": "transfer",
        "object_id": transfer.public_id,
        "new_state": transfer.status,
        "amount": transfer.amount,
        "currency": transfer.currency,
        "merchant_id": transfer.merchant_id,
        "metadata": {"transaction": txn.public_id, "reference": txn.reference},
    }


@dataclass
class _TransferCall:
    """One ``ledger_transfer_create`` call: the rows Python renders, and what it returns made
    into the objects the models' ``save()`` would have given."""

    transfer: Transfer
    txn: JournalTransaction
    event: Event
    args: dict[str, Any]
    # The audit row's fields when its text cannot be cut for the database: written in Python.
    audit_fields: dict[str, Any] | None

    @classmethod
    def build(
        cls,
        *,
        merchant_id: str,
        livemode: bool,
        from_account_id: int | str,
        to_account_id: int | str,
        amount: Money,
        description: str,
        metadata: dict[str, Any],
        reference: str | None,
    ) -> "_TransferCall":
        currency = amount.currency.code
        now = timezone.now()
        # The accounts as far as the arguments name them; the database fills in the rest.
        source, destination = (
            LedgerAccount(pk=key, public_id="", livemode=livemode)
            if isinstance(key, int)
            else LedgerAccount(public_id=key, livemode=livemode)
            for key in (from_account_id, to_account_id)
        )
        transfer = Transfer(
            merchant_id=merchant_id,
            from_account=source,
            to_account=destination,
            amount=amount.amount,
            currency=currency,
            description=description,
            metadata=metadata,
            created=now,
            updated=now,
        )
        txn = JournalTransaction(
            kind=TransactionKind.TRANSFER,
            reference=reference or f"transfer:{transfer.public_id}",
            description=description,
            metadata={"transfer": transfer.public_id},
            merchant_id=merchant_id,
            created=now,
        )
        transfer.transaction = txn
        audit_fields = _transfer_created_audit(transfer, txn)
        audit, start = audit_event_build(**audit_fields)
        audit_args = audit_append_args(audit, start=start)
        event = event_build(
            event_type="transfer.created",
            merchant_id=merchant_id,
            object_type="transfer",
            data={"object": transfer_object(transfer)},
            livemode=livemode,
        )
        event.created = now
        args = {
            "merchant_id": merchant_id,
            "from_account_id": from_account_id,
            "to_account_id": to_account_id,
            "amount": amount.amount,
            "currency": currency,
            "kinds": TRANSFERABLE_KINDS,
            "created": now,
            "txn": {
                f: getattr(txn, f) for f in ("public_id", "kind", "reference", "description", "metadata")
            },
            "transfer": {f: getattr(transfer, f) for f in ("public_id", "description", "metadata", "status")},
            "history": history_stamp(),
            "audit_args": audit_args or ledger_sql.NO_AUDIT,
            "event": {f: getattr(event, f) for f in _EVENT_FIELDS},
        }
        return cls(
            transfer=transfer,
            txn=txn,
            event=event,
            args=args,
            audit_fields=None if audit_args is not None else audit_fields,
        )

    def run(self) -> Transfer:
        written = ledger_sql.transfer_insert(**self.args)
        if written.txn_pk is None:
            return _transfer_existing(self.txn, self.transfer.amount, written)
        merchant_id, currency = self.transfer.merchant_id, self.transfer.currency
        livemode = self.event.livemode
        (from_pk, from_public), (to_pk, to_public) = written.from_account, written.to_account
        self.transfer.from_account = ledger_sql.account_from_row(
            pk=from_pk, public_id=from_public, merchant_id=merchant_id, currency=currency, livemode=livemode
        )
        self.transfer.to_account = ledger_sql.account_from_row(
            pk=to_pk, public_id=to_public, merchant_id=merchant_id, currency=currency, livemode=livemode
        )
        ledger_sql.instance_saved(self.txn, written.txn_pk)
        ledger_sql.instance_saved(self.transfer, written.transfer_pk)
        ledger_sql.instance_saved(self.event, written.event_pk)
        self.transfer.transaction = self.txn
        self.event.data["object"].update(from_account=from_public, to_account=to_public)
        if self.audit_fields is not None:
            audit_record(**self.audit_fields)
        event_announce(self.event)
        return self.transfer


def _transfer_existing(txn: JournalTransaction, amount, written: ledger_sql.TransferWritten) -> Transfer:
    """The transfer its reference made before, if that posting moved the same amounts; else a
    ``ReferenceConflictError``."""
    nets = {written.from_account[0]: -amount, written.to_account[0]: amount}
    return Transfer.objects.select_related("from_account", "to_account", "transaction").get(
        transaction=posting_existing(txn, nets)
    )


def transfer_lock(*, merchant_id: str, transfer_id: int | str, livemode: bool = False) -> Transfer:
    lookup = {"pk": transfer_id} if isinstance(transfer_id, int) else {"public_id": transfer_id}
    queryset = _ledger_tenant(merchant_id, livemode).scope(Transfer.objects.all())
    try:
        return (
            queryset.select_for_update(of=("self",), no_key=True)
            .select_related("from_account", "to_account", "transaction", "reversal_transaction")
            .get(**lookup)
        )
    except Transfer.DoesNotExist:
        raise NotFoundError(f"No such transfer: {transfer_id}.", param="transfer") from None


@ledger_atomic
def transfer_reverse(*, merchant_id: str, transfer_id: int | str, livemode: bool = False) -> Transfer:
    """Reverse a transfer of this mode with a new transaction (the original never changes); emits
    ``transfer.reversed``.

    The destination must still hold the amount; a transfer is reversed at most once.
    """
    transfer = transfer_lock(merchant_id=merchant_id, transfer_id=transfer_id, livemode=livemode)
    if transfer.status == TransferStatus.REVERSED:
        raise TransferReversedError(f"Transfer {transfer.public_id} is already reversed.", param="transfer")
    result = lines_post(
        reference=f"reversal:{transfer.transaction.public_id}",
        kind=TransactionKind.REVERSAL,
        lines=[
            PostingLine(account_id=transfer.to_account_id, amount=-transfer.amount_money),
            PostingLine(account_id=transfer.from_account_id, amount=transfer.amount_money),
        ],
        description=f"Reversal of {transfer.public_id}",
        metadata={"transfer": transfer.public_id},
        merchant_id=merchant_id,
        reverses_pk=transfer.transaction_id,
        audit_event_type=None,  # the transfer's audit row below names the reversal
    )
    previous = transfer.status
    transfer.status = TransferStatus.REVERSED
    transfer.reversal_transaction = result.transaction
    transfer.save(update_fields=["status", "reversal_transaction", "updated"])
    audit_record(
        event_type="transfer.reversed",
        object_type="transfer",
        object_id=transfer.public_id,
        previous_state=previous,
        new_state=transfer.status,
        amount=transfer.amount,
        currency=transfer.currency,
        merchant_id=merchant_id,
        metadata={"transaction": result.transaction.public_id},
    )
    event_emit(
        event_type="transfer.reversed",
        merchant_id=merchant_id,
        object_type="transfer",
        data={"object": transfer_object(transfer)},
        livemode=transfer.from_account.livemode,
    )
    return transfer
