"""Holds (two-phase): reserve part of an account's available funds now, then post all or part of
it (``hold_capture``), or give it back (``hold_release``, ``holds_expire``).

A hold's amount is the account's ``pending`` while the hold is ``held``. Every change of it goes
through the database function ``ledger_post`` (``posting.py``): placing a hold locks the account
and refuses it unless posted - pending stays >= 0 (or the account may go negative); a capture
posts the captured part and releases the whole hold in the same call; a release or an expiry
only lowers ``pending`` (allowed on a frozen account: no money moves).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from accounts import ledger_sql
from accounts.errors import CurrencyMismatchError, HoldStateError, ReferenceConflictError
from accounts.ledger_sql import AccountChange
from accounts.models import ZERO, Hold, HoldStatus, TransactionKind
from accounts.services.posting import PostingLine, account_pks_resolve, amount_check, lines_post
from accounts.services.unit_of_work import ledger_atomic
from paysys.audit.services import audit_record
from paysys.errors import InvalidRequestError, NotFoundError

# How many expired holds one ``holds_expire`` run handles, each in its own transaction.
HOLDS_EXPIRE_BATCH = 500


def hold_lock(hold_id: int | str) -> Hold:
    lookup = {"pk": hold_id} if isinstance(hold_id, int) else {"public_id": hold_id}
    try:
        return (
            Hold.objects.select_for_update(of=("self",), no_key=True).select_related("account").get(**lookup)
        )
    except Hold.DoesNotExist:
        raise NotFoundError(f"No such hold: {hold_id}.", param="hold") from None


def _pending_change(*, account_pk: int, currency: str, delta) -> None:
    ledger_sql.posting_insert(
        txn=None,
        created=timezone.now(),
        changes=[AccountChange(account_pk=account_pk, amount=ZERO, currency=currency, pending=delta)],
        audit_args=ledger_sql.NO_AUDIT,
    )


@ledger_atomic
def hold_place(
    *, account_id: int | str, amount: Money, reference: str, expires_at: datetime | None = None
) -> Hold:
    """Reserve ``amount`` of the account's available funds; idempotent on ``reference``."""
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise InvalidRequestError("A hold amount must be positive.", code="invalid_amount", param="amount")
    currency = amount_check(amount)
    pk = account_pks_resolve([account_id])[account_id]
    existing = Hold.objects.filter(reference=reference).first()
    if existing is not None:
        if existing.account_id != pk or existing.amount != amount.amount or existing.currency != currency:
            raise ReferenceConflictError(f"Hold reference {reference!r} is already used.", param="reference")
        return existing
    # The account's lock (taken by the function) is held until commit; the unique reference
    # refuses a concurrent placement of the same hold.
    _pending_change(account_pk=pk, currency=currency, delta=amount.amount)
    hold = Hold.objects.create(
        account_id=pk,
        amount=amount.amount,
        currency=currency,
        reference=reference,
        expires_at=expires_at,
    )
    audit_record(
        event_type="ledger.hold.placed",
        object_type="hold",
        object_id=hold.public_id,
        new_state=hold.status,
        amount=hold.amount,
        currency=hold.currency,
        metadata={"account": pk, "reference": reference},
    )
    return hold


@transaction.atomic(savepoint=False)
def _hold_end(hold: Hold, *, status: str) -> Hold:
    if hold.status != HoldStatus.HELD:
        raise HoldStateError(f"Hold {hold.public_id} is {hold.status}.", param="hold", status=hold.status)
    _pending_change(account_pk=hold.account_id, currency=hold.currency, delta=-hold.amount)
    previous = hold.status
    hold.status = status
    hold.save(update_fields=["status", "updated"])
    audit_record(
        event_type=f"ledger.hold.{status}",
        object_type="hold",
        object_id=hold.public_id,
        previous_state=previous,
        new_state=status,
        amount=hold.amount,
        currency=hold.currency,
    )
    return hold


@ledger_atomic
def hold_release(*, hold_id: int | str) -> Hold:
    """Give the held funds back to the account's available balance."""
    hold = hold_lock(hold_id)
    if hold.status == HoldStatus.RELEASED:
        return hold
    return _hold_end(hold, status=HoldStatus.RELEASED)


@ledger_atomic
def hold_capture(
    *,
    hold_id: int | str,
    amount: Money | None,
    to_account_id: int | str,
    reference: str,
    kind: str = TransactionKind.CAPTURE,
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
    merchant_id: str | None = None,
) -> Hold:
    """Post ``amount`` (default: all) of the hold from its account to ``to_account_id`` and
    release the rest, in one transaction. Capturing again with the same reference is a no-op."""
    hold = hold_lock(hold_id)
    if (
        hold.status == HoldStatus.CAPTURED
        and hold.transaction is not None
        and hold.transaction.reference == reference
    ):
        return hold
    if hold.status != HoldStatus.HELD:
        raise HoldStateError(f"Hold {hold.public_id} is {hold.status}.", param="hold", status=hold.status)
    capture = amount if amount is not None else Money(hold.amount, hold.currency)
    if capture.currency.code != hold.currency:
        raise CurrencyMismatchError(f"The hold is in {hold.currency}.", param="currency")
    if not 0 < capture.amount <= hold.amount:
        raise InvalidRequestError(
            "The capture amount must be positive and at most the held amount.",
            code="amount_too_large",
            param="amount",
        )
    result = lines_post(
        reference=reference,
        kind=kind,
        lines=[
            PostingLine(account_id=hold.account_id, amount=-capture),
            PostingLine(account_id=to_account_id, amount=capture),
        ],
        description=description,
        metadata=metadata,
        merchant_id=merchant_id or "",
        # The whole hold is released as the captured part is debited: the rest is free again.
        pending_deltas={hold.account_id: -hold.amount},
    )
    previous = hold.status
    hold.status = HoldStatus.CAPTURED
    hold.captured_amount = capture.amount
    hold.transaction = result.transaction
    hold.save(update_fields=["status", "captured_amount", "transaction", "updated"])
    audit_record(
        event_type="ledger.hold.captured",
        object_type="hold",
        object_id=hold.public_id,
        previous_state=previous,
        new_state=hold.status,
        amount=hold.captured_amount,
        currency=hold.currency,
        merchant_id=merchant_id,
    )
    return hold


@ledger_atomic
def _hold_expire(*, hold_pk: int, now: datetime) -> bool:
    hold = hold_lock(hold_pk)
    if hold.status != HoldStatus.HELD or hold.expires_at is None or hold.expires_at > now:
        return False
    _hold_end(hold, status=HoldStatus.EXPIRED)
    return True


def holds_expire(*, now: datetime | None = None) -> int:
    """Expire every held hold past its ``expires_at``, each in its own transaction (its own unit
    of work, retried on deadlock); returns the count."""
    now = now or timezone.now()
    expired = 0
    while True:
        due = list(
            Hold.objects.filter(status=HoldStatus.HELD, expires_at__lte=now)
            .order_by("expires_at", "pk")
            .values_list("pk", flat=True)[:HOLDS_EXPIRE_BATCH]
        )
        if not due:
            return expired
        for pk in due:
            expired += _hold_expire(hold_pk=pk, now=now)
        if len(due) < HOLDS_EXPIRE_BATCH:
            return expired
