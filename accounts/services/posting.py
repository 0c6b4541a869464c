"""Posting: ``ledger_post``, the one writer of entries and balances, and ``ledger_reverse``.

Sign convention
---------------
An entry's ``amount`` is signed from the account holder's point of view: ``+`` is a credit (the
holder has more), ``-`` a debit. The entries of every journal transaction sum to zero per
currency, so for each currency the balances of all accounts sum to zero: the platform's
clearing accounts (``card_clearing``, ``wallet_funding``, ``adjustments``...), which may go
negative, carry the other side of money that entered or left the system. A captured card
payment of EUR 10.00 with a EUR 0.30 fee posts: card_clearing -10.00, the merchant's pending
+9.70, the platform's fees +0.30.

Balances
--------
An account's posted balance is ``posted_base`` plus the sum of its balance shards
(``LedgerBalanceShard``, ``balance_shards`` rows per account); ``pending`` is what open holds
reserve; available = posted - pending. Reads are O(1) in entries: a handful of rows, never a sum
of entries (``accounts.selectors``).

How a posting works
-------------------
Python checks the lines (Money, exact in the currency's minor unit, balanced per currency), nets
them per account, renders the journal transaction (public id, time) and its audit row, and calls
the database function ``ledger_post`` (accounts/sql/ledger_post.sql) once. The function holds
every rule: it checks the accounts' currency and the overdraft-funding rule, inserts the
transaction ``ON CONFLICT (reference) DO NOTHING`` (a reference posts once), locks the debited
accounts without overdraft and those whose held amount changes ``FOR NO KEY UPDATE`` in
ascending id, checks status and funds, puts every other line on one random balance shard of its
account (a hot account spreads its writers over its shards), reads those accounts' status after
the shard locks, inserts the entries with ``balance_after``, updates the locked accounts and
appends the audit row. Its refusals become the domain errors (``accounts.ledger_sql``). A
reference posted already returns the existing transaction (``created=False``) when its lines are
the same, and ``ReferenceConflictError`` when they differ. The database's deferred constraint
trigger re-checks at commit that the transaction sums to zero per currency.

Transfers (``transfers.py``) and holds (``holds.py``) post through the same function.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from accounts import ledger_sql
from accounts.errors import CurrencyMismatchError, ReferenceConflictError, UnbalancedPostingError
from accounts.ledger_sql import AccountChange, LockedAccount
from accounts.models import ZERO, JournalTransaction, LedgerAccount, LedgerBalanceShard, TransactionKind
from accounts.services.unit_of_work import ledger_atomic
from paysys.audit.services import audit_append_args, audit_event_build, audit_record
from paysys.errors import InvalidRequestError, NotFoundError
from paysys.money import currency_is_supported, money_to_minor


@dataclass(frozen=True)
class PostingLine:
    """One line of a posting: ``account_id`` is the account's pk (int) or public id (``acct_``)."""

    account_id: int | str
    amount: Money


@dataclass(frozen=True)
class PostingResult:
    transaction: JournalTransaction
    created: bool


def amount_check(amount: Money) -> str:
    """Refuse an amount in an unsupported currency or finer than its minor unit; its currency."""
    code = amount.currency.code
    if not currency_is_supported(code):
        raise CurrencyMismatchError(f"Unsupported currency {code}.", param="currency")
    try:
        money_to_minor(amount)
    except ValueError as exc:
        raise InvalidRequestError(str(exc), code="invalid_amount", param="amount") from exc
    return code


def _lines_net(lines: Sequence[PostingLine]) -> tuple[dict[int | str, Decimal], dict[int | str, str]]:
    """Validate the lines and net them per account: (amount per account, currency per account)."""
    if len(lines) < 2:
        raise UnbalancedPostingError("A posting needs at least two lines.", param="lines")
    totals: dict[str, Decimal] = {}
    nets: dict[int | str, Decimal] = {}
    currencies: dict[int | str, str] = {}
    for line in lines:
        if not isinstance(line.amount, Money):
            raise TypeError("PostingLine.amount must be a moneyed.Money")
        code = amount_check(line.amount)
        if currencies.setdefault(line.account_id, code) != code:
            raise CurrencyMismatchError("One posting moves one currency per account.", param="currency")
        amount = Decimal(line.amount.amount)
        nets[line.account_id] = nets.get(line.account_id, ZERO) + amount
        totals[code] = totals.get(code, ZERO) + amount
    unbalanced = {code: total for code, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedPostingError(
            f"Posting lines do not sum to zero per currency: {unbalanced}.", param="lines"
        )
    nets = {account: net for account, net in nets.items() if net != 0}
    if not nets:
        raise UnbalancedPostingError("A posting must move money.", param="lines")
    return nets, currencies


def account_pks_resolve(ids: Sequence[int | str]) -> dict[int | str, int]:
    """Accounts named by pk or public id, as pks; ``NotFoundError`` for an unknown public id."""
    public_ids = [i for i in ids if isinstance(i, str)]
    resolved: dict[int | str, int] = {i: i for i in ids if isinstance(i, int)}
    if public_ids:
        found = dict(LedgerAccount.objects.filter(public_id__in=public_ids).values_list("public_id", "pk"))
        missing = set(public_ids) - set(found)
        if missing:
            raise NotFoundError(f"No such ledger account: {sorted(missing)[0]}.", param="account")
        resolved.update(found)
    return resolved


def lines_post(
    *,
    reference: str,
    kind: str,
    lines: Sequence[PostingLine],
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
    merchant_id: str = "",
    reverses_pk: int | None = None,
    pending_deltas: Mapping[int, Decimal] | None = None,
    audit_event_type: str | None = "ledger.transaction.posted",
    reason_code: str = "",
) -> PostingResult:
    """Post ``lines`` with ``ledger_post`` in the caller's transaction (see the module docstring).

    ``pending_deltas`` change held amounts in the same call (a hold captured). With
    ``audit_event_type=None`` the caller writes the audit row of the business object the posting
    belongs to (a transfer reversed), naming the transaction.
    """
    if kind not in TransactionKind.values:
        raise InvalidRequestError(f"Unknown transaction kind {kind!r}.", param="kind")
    if not reference:
        raise InvalidRequestError("A posting needs a reference.", param="reference")
    raw_nets, raw_currencies = _lines_net(lines)
    pks = account_pks_resolve(list(raw_nets))
    nets = {pks[key]: amount for key, amount in raw_nets.items()}
    currencies = {pks[key]: raw_currencies[key] for key in raw_nets}
    pending_deltas = dict(pending_deltas or {})
    now = timezone.now()
    txn = JournalTransaction(
        kind=kind,
        reference=reference,
        description=description,
        metadata=dict(metadata or {}),
        merchant_id=merchant_id,
        reverses_id=reverses_pk,
        created=now,
    )
    audit_fields = None
    audit_args = ledger_sql.NO_AUDIT
    if audit_event_type is not None:
        moved = sum((net for net in nets.values() if net > 0), ZERO)
        single_currency = next(iter(set(currencies.values()))) if len(set(currencies.values())) == 1 else None
        audit_fields = {
            "event_type": audit_event_type,
            "object_type": "journal_transaction",
            "object_id": txn.public_id,
            "new_state": "posted",
            "amount": moved if single_currency else None,
            "currency": single_currency,
            "merchant_id": merchant_id or None,
            "reason_code": reason_code,
            "metadata": {"reference": reference, "kind": kind},
        }
        audit, start = audit_event_build(**audit_fields)
        audit_args = audit_append_args(audit, start=start) or ledger_sql.NO_AUDIT
    if set(pending_deltas) - set(nets):
        raise InvalidRequestError(
            "A held amount changes only on an account the posting moves.", param="lines"
        )
    changes = [
        AccountChange(
            account_pk=pk, amount=net, currency=currencies[pk], pending=pending_deltas.get(pk, ZERO)
        )
        for pk, net in nets.items()
    ]
    txn_pk = ledger_sql.posting_insert(txn=txn, created=now, changes=changes, audit_args=audit_args)
    if txn_pk is None:
        return PostingResult(transaction=posting_existing(txn, nets), created=False)
    if audit_fields is not None and audit_args is ledger_sql.NO_AUDIT:
        # The rare row whose canonical text cannot be cut for the database: linked in Python.
        audit_record(**audit_fields)
    return PostingResult(transaction=txn, created=True)


def posting_existing(txn: JournalTransaction, nets: Mapping[int, Decimal]) -> JournalTransaction:
    existing, stored = ledger_sql.posting_stored(txn.reference)
    if existing.kind != txn.kind or stored != dict(nets) or existing.merchant_id != txn.merchant_id:
        raise ReferenceConflictError(
            f"Reference {txn.reference!r} was already posted as {existing.public_id} with different lines.",
            param="reference",
            transaction=existing.public_id,
        )
    return existing


@ledger_atomic
def ledger_post(
    *,
    reference: str,
    kind: str,
    lines: Sequence[PostingLine],
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
    merchant_id: str | None = None,
    reverses: JournalTransaction | None = None,
    reason_code: str = "",
) -> PostingResult:
    """Post one balanced journal transaction; the only writer of entries and balances.

    ``lines`` must sum to zero per currency. ``reference`` is the business key: posting it
    again returns the existing transaction with ``created=False`` (or raises
    ``ReferenceConflictError`` if its lines differ). Raises ``InsufficientFundsError``,
    ``AccountFrozenError``, ``AccountClosedError``, ``CurrencyMismatchError``,
    ``OverdraftFundingError``, ``LivemodeMismatchError``, ``NotFoundError``, ``LedgerBusyError``.
    """
    return lines_post(
        reference=reference,
        kind=kind,
        lines=lines,
        description=description,
        metadata=metadata,
        merchant_id=merchant_id or "",
        reverses_pk=reverses.pk if reverses is not None else None,
        reason_code=reason_code,
    )


@ledger_atomic
def ledger_reverse(
    *, transaction_id: int | str, reference: str | None = None, description: str = ""
) -> PostingResult:
    """Post the mirror image of a transaction (each entry negated); the original never changes."""
    original = _journal_transaction_get(transaction_id)
    entries = list(original.entries.values_list("account_id", "amount", "currency"))
    return lines_post(
        reference=reference or f"reversal:{original.public_id}",
        kind=TransactionKind.REVERSAL,
        lines=[
            PostingLine(account_id=pk, amount=Money(-amount, currency)) for pk, amount, currency in entries
        ],
        description=description or f"Reversal of {original.public_id}",
        metadata={"reverses": original.public_id},
        merchant_id=original.merchant_id,
        reverses_pk=original.pk,
        audit_event_type="ledger.transaction.reversed",
    )


def _journal_transaction_get(transaction_id: int | str) -> JournalTransaction:
    lookup = {"pk": transaction_id} if isinstance(transaction_id, int) else {"public_id": transaction_id}
    try:
        return JournalTransaction.objects.get(**lookup)
    except JournalTransaction.DoesNotExist:
        raise NotFoundError(f"No such transaction: {transaction_id}.", param="transaction") from None


# --- locks ----------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def accounts_lock(account_pks: Sequence[int]) -> dict[int, LockedAccount]:
    """Lock accounts ``FOR NO KEY UPDATE`` in ascending id order (their balances stay as read
    until commit); ``NotFoundError`` if one is missing."""
    pks = set(account_pks)
    if not pks:
        return {}
    locked = ledger_sql.accounts_rows_lock(sorted(pks))
    if len(locked) != len(pks):
        raise NotFoundError("No such ledger account.", param="account")
    return locked


def account_shards_lock(account_pk: int) -> list[LedgerBalanceShard]:
    """Lock every balance shard of an (already locked) account: waits for in-flight credits."""
    return list(
        LedgerBalanceShard.objects.filter(account_id=account_pk).order_by("shard").select_for_update()
    )
