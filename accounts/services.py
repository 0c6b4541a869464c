"""The ledger's writes: ``ledger_post``, the one function that writes entries and balances, and
the services built on it (accounts, transfers, holds, verification).

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
1. The lines are checked in Python (Money, exact in the currency's minor unit, balanced per
   currency) and netted per account.
2. The journal transaction is inserted with ``ON CONFLICT (reference) DO NOTHING``: a reference
   posts once. If it exists, the existing transaction is returned (``created=False``) when its
   lines are the same, and ``ReferenceConflictError`` is raised when they differ.
3. Debited accounts without overdraft (and accounts whose holds change) are locked ``FOR NO
   KEY UPDATE`` in ascending id order; status, currency and the overdraft rule are checked and
   the change goes to ``posted_base``/``pending`` of the locked row.
4. Credited accounts, and debited accounts with overdraft (``allow_negative``: the platform's
   clearing accounts, debited by every capture), are not locked. Their amount is added to one
   of the account's balance shards, picked at random (the UPDATE locks that shard row only),
   shards taken in ascending account id after every account lock; then the account's status is
   read in a new statement. A hot account thus spreads its writers over ``balance_shards`` rows
   instead of queueing on one. Why this is safe:
   - overdraft: on an account without overdraft, shards only ever grow (a CHECK keeps them
     >= 0; its debits go to the base under the account lock), so the committed sum a debit
     reads is a lower bound of the balance; an overdraft account has no floor to check;
   - status: freezing or closing an account locks the account and then every shard. A posting
     that locked its shard first commits before the freeze does; one that comes later waits
     for the shard and then, in a new statement, reads the committed status and is refused;
   - deadlocks: every posting takes account locks (ascending id), then shard locks (ascending
     account id, one shard each); freeze/close take an account then its shards. ``FOR NO KEY
     UPDATE`` does not conflict with the ``FOR KEY SHARE`` locks of the deferred foreign-key
     checks on entries, so those never wait on a debit.
5. Entries are inserted with ``balance_after`` (the posted balance this posting saw after its
   own line: exact for locked accounts, a snapshot for shard postings) and the locked accounts
   updated. On PostgreSQL, CTEs join the steps: (2 + 3), one UPDATE per shard, then (the status
   read of 4 + 5) — three round trips for a two-line transfer.
6. One audit row is written (by the posting, or by the transfer service for its own posting);
   the database's deferred constraint trigger re-checks at commit that the transaction sums to
   zero per currency.

Transfers on PostgreSQL
-----------------------
``transfer_create`` is the hottest writer, so on PostgreSQL it is one call of the database
function ``ledger_transfer_create`` (migration accounts/0005), which runs steps 2 to 6 for the
transfer's two lines with the same rules, locks and order, then writes the transfer, its
history row, its audit row and its outbox event. Python checks the amount, renders every value
it can (ids, timestamps, the audit row's canonical text, the event payload) and turns the
function's refusals (SQLSTATE class ``PT``) into the same errors as the Python steps. Called with
no transaction open, that one statement is the transaction; in a manual transaction (an API
request's) it joins it without a savepoint, and a refusal leaves that transaction for its owner
to roll back. ``LEDGER_TRANSFER_IN_DATABASE`` turns the function off: the Python steps then
run instead, and the tests run both paths and compare the rows they write.

Transactions and retries
------------------------
Called outside any transaction, ``ledger_post`` and the other entry points own a durable
atomic block and retry it as a whole on deadlock (40P01) or serialization (40001) failures,
``settings.LEDGER_POST_MAX_RETRIES`` times with jittered exponential backoff; past that the
caller gets ``LedgerBusyError`` and nothing was posted. Called inside a caller's transaction
(a payment capture that also changes the payment), they join it and the caller's entry point
owns the retry: wrap it with ``ledger_atomic``.
"""

import functools
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from moneyed import Money

from accounts.checks import ledger_checks
from accounts.errors import (
    AccountNotEmptyError,
    CurrencyMismatchError,
    HoldStateError,
    LedgerBusyError,
    LivemodeMismatchError,
    OverdraftFundingError,
    ReferenceConflictError,
    TransferReversedError,
    UnbalancedPostingError,
)
from accounts.models import (
    KINDS_BY_OWNER,
    MERCHANT_KINDS,
    ZERO,
    AccountKind,
    AccountStatus,
    Entry,
    Hold,
    HoldStatus,
    JournalTransaction,
    LedgerAccount,
    LedgerBalanceShard,
    LedgerVerification,
    OwnerType,
    TransactionKind,
    Transfer,
    TransferStatus,
    new_transaction_id,
    overdraft_is_credit,
)
from accounts.serializers import transfer_object
from paysys.audit.history import history_stamp
from paysys.audit.services import AUDIT_APPEND_SQL, audit_append_args, audit_event_build, audit_record
from paysys.db.compiled import CompiledQuery
from paysys.errors import (
    AccountClosedError,
    AccountFrozenError,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    PaysysError,
)
from paysys.events.models import Event
from paysys.events.services import event_announce, event_build, event_emit
from paysys.money import currency_is_accepted, currency_is_supported, money_to_minor
from paysys.tenancy import Tenant

P = ParamSpec("P")
R = TypeVar("R")

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
RETRY_BASE_DELAY_SECONDS = 0.002
RETRY_MAX_DELAY_SECONDS = 0.2
# Accounts a merchant may move money between with a transfer (API.md: wallets or `available`).
TRANSFERABLE_KINDS = frozenset({AccountKind.WALLET, AccountKind.AVAILABLE})
# How many expired holds one ``holds_expire`` run handles, each in its own transaction.
HOLDS_EXPIRE_BATCH = 500


@dataclass(frozen=True)
class PostingLine:
    """One line of a posting: ``account_id`` is the account's pk (int) or public id (``acct_``)."""

    account_id: int | str
    amount: Money


@dataclass(frozen=True)
class PostingResult:
    transaction: JournalTransaction
    created: bool


# --- transactions and retries -------------------------------------------------------------


def _in_caller_transaction() -> bool:
    """Whether a caller's atomic block is open (the test case's own wrapper does not count)."""
    return connection.in_atomic_block and not all(b._from_testcase for b in connection.atomic_blocks)


def _is_retryable(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        cause = cause.__cause__
    return False


def _ledger_retry(run: Callable[[], R]) -> R:
    """Run ``run`` (a durable unit: an atomic block, or one autocommitted statement) again on
    deadlock/serialization failures, with jittered backoff; ``LedgerBusyError`` past the limit."""
    max_retries = settings.LEDGER_POST_MAX_RETRIES
    for attempt in range(max_retries + 1):
        try:
            return run()
        except DatabaseError as exc:
            if not _is_retryable(exc):
                raise
            if attempt == max_retries:
                raise LedgerBusyError(
                    "The ledger is busy: the posting was retried and still conflicted; nothing was posted."
                ) from exc
            # Full jitter: conflicting writers spread out instead of colliding again.
            time.sleep(random.uniform(0, min(RETRY_MAX_DELAY_SECONDS, RETRY_BASE_DELAY_SECONDS * 2**attempt)))
    raise AssertionError("unreachable")  # pragma: no cover


def ledger_atomic(fn: Callable[P, R]) -> Callable[P, R]:
    """Make ``fn`` a ledger entry point: outside a transaction it runs in a durable atomic block
    retried as a whole on deadlock/serialization failures; inside one it joins the caller's."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if _in_caller_transaction():
            with transaction.atomic(savepoint=False):
                return fn(*args, **kwargs)

        def run() -> R:
            with transaction.atomic(durable=True):
                return fn(*args, **kwargs)

        return _ledger_retry(run)

    return wrapper


# --- SQL of the hot path --------------------------------------------------------------------


# Table names come from the models and every value is a bound parameter, hence the S608 waivers.
@functools.cache
def _sql() -> dict[str, str]:
    acct = LedgerAccount._meta.db_table
    shard = LedgerBalanceShard._meta.db_table
    txn = JournalTransaction._meta.db_table
    shard_sum = f"COALESCE((SELECT SUM(s.amount) FROM {shard} s WHERE s.account_id = a.id), 0)"  # noqa: S608
    txn_insert = (
        f"INSERT INTO {txn} (public_id, kind, reference, description, metadata, merchant_id, reverses_id, created)"  # noqa: S608
        " VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s) ON CONFLICT (reference) DO NOTHING RETURNING id"
    )
    # {ids} is a list of placeholders; rows come locked in ascending id order.
    accounts_lock = (
        f"SELECT a.id, a.public_id, a.currency, a.status, a.allow_negative, a.posted_base, a.pending, {shard_sum},"  # noqa: S608
        f" a.owner_type FROM {acct} a WHERE a.id IN ({{ids}}) ORDER BY a.id FOR NO KEY UPDATE OF a"
    )
    return {
        "accounts_lock": accounts_lock,
        # One round trip: insert the transaction row; lock the debited accounts
        # without overdraft and those whose holds change (ascending id); list the debited
        # overdraft accounts unlocked (their debit goes to a shard), their columns NULL but the
        # owner type.
        "txn_insert_and_lock": (
            f"WITH t AS ({txn_insert}),"  # noqa: S608
            f" l AS (SELECT a.id, a.public_id, a.currency, a.status, a.allow_negative, a.posted_base, a.pending,"
            f" {shard_sum}, a.owner_type FROM {acct} a"
            " WHERE a.id = ANY(%s) AND (NOT a.allow_negative OR a.id = ANY(%s))"
            " ORDER BY a.id FOR NO KEY UPDATE OF a),"
            f" o AS (SELECT a.id, a.owner_type FROM {acct} a"
            " WHERE a.id = ANY(%s) AND a.allow_negative AND NOT a.id = ANY(%s))"
            " SELECT (SELECT id FROM t), l.* FROM l"
            " UNION ALL SELECT (SELECT id FROM t), o.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, o.owner_type FROM o"
        ),
        "shard_add": (
            f"UPDATE {shard} SET amount = amount + %s WHERE account_id = %s"  # noqa: S608
            f" AND shard = (SELECT %s %% a.balance_shards FROM {acct} a WHERE a.id = %s) RETURNING amount"
        ),
        "account_update": f"UPDATE {acct} SET posted_base = posted_base + %s, pending = pending + %s WHERE id = %s",  # noqa: S608
        # One round trip: read the sharded accounts, insert the entries (a sharded
        # account's balance_after from that read), update the locked accounts ({update}).
        "finish": (
            f"WITH r AS (SELECT a.id, a.public_id, a.currency, a.status, a.posted_base + {shard_sum} AS posted,"  # noqa: S608
            f" a.owner_type FROM {acct} a WHERE a.id = ANY(%s)),"
            " v (transaction_id, account_id, amount, currency, balance_after, created) AS (VALUES {rows}),"
            f" e AS (INSERT INTO {Entry._meta.db_table}"
            " (transaction_id, account_id, amount, currency, balance_after, created)"
            " SELECT v.transaction_id, v.account_id, v.amount, v.currency, COALESCE(v.balance_after, r.posted),"
            " v.created FROM v LEFT JOIN r ON r.id = v.account_id){update}"
            " SELECT r.id, r.public_id, r.currency, r.status, r.posted, r.owner_type FROM r"
        ),
        "finish_update": (
            f", u AS (UPDATE {acct} SET posted_base = {acct}.posted_base + w.net,"  # noqa: S608
            f" pending = {acct}.pending + w.pending FROM (VALUES {{values}}) AS w(id, net, pending)"
            f" WHERE {acct}.id = w.id)"
        ),
    }


ENTRY_VALUES_ROW = "(%s::bigint, %s::bigint, %s::numeric, %s::varchar, %s::numeric, %s::timestamptz)"
UPDATE_VALUES_ROW = "(%s::bigint, %s::numeric, %s::numeric)"


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


@dataclass
class _LockedAccount:
    pk: int
    public_id: str
    currency: str
    status: str
    allow_negative: bool
    posted_base: Decimal
    pending: Decimal
    shard_sum: Decimal
    owner_type: str


def accounts_lock(account_pks: Sequence[int]) -> dict[int, _LockedAccount]:
    """Lock accounts ``FOR NO KEY UPDATE`` in ascending id order; raise NotFoundError if one is missing."""
    pks = sorted(set(account_pks))
    if not pks:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_sql()["accounts_lock"].format(ids=_placeholders(len(pks))), pks)
        rows = cursor.fetchall()
    locked = {row[0]: _LockedAccount(*row) for row in rows}
    if len(locked) != len(pks):
        raise NotFoundError("No such ledger account.", param="account")
    return locked


def account_shards_lock(account_pk: int) -> list[LedgerBalanceShard]:
    """Lock every balance shard of an (already locked) account: waits for in-flight credits."""
    return list(
        LedgerBalanceShard.objects.filter(account_id=account_pk).order_by("shard").select_for_update()
    )


def _status_check(status: str, public_or_pk: object) -> None:
    if status == AccountStatus.FROZEN:
        raise AccountFrozenError(f"Ledger account {public_or_pk} is frozen.", param="account")
    if status == AccountStatus.CLOSED:
        raise AccountClosedError(f"Ledger account {public_or_pk} is closed.", param="account")


# --- posting --------------------------------------------------------------------------------


def _amount_check(amount: Money) -> str:
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
        code = _amount_check(line.amount)
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


def _account_pks_resolve(ids: Sequence[int | str]) -> dict[int | str, int]:
    public_ids = [i for i in ids if isinstance(i, str)]
    resolved: dict[int | str, int] = {i: i for i in ids if isinstance(i, int)}
    if public_ids:
        found = dict(LedgerAccount.objects.filter(public_id__in=public_ids).values_list("public_id", "pk"))
        missing = set(public_ids) - set(found)
        if missing:
            raise NotFoundError(f"No such ledger account: {sorted(missing)[0]}.", param="account")
        resolved.update(found)
    return resolved


def _posting_existing(
    *, reference: str, kind: str, nets: Mapping[int, Decimal], merchant_id: str
) -> JournalTransaction:
    existing = JournalTransaction.objects.get(reference=reference)
    stored = {account: amount for account, amount in existing.entries.values_list("account_id", "amount")}
    if existing.kind != kind or stored != dict(nets) or existing.merchant_id != merchant_id:
        raise ReferenceConflictError(
            f"Reference {reference!r} was already posted as {existing.public_id} with different lines.",
            param="reference",
            transaction=existing.public_id,
        )
    return existing


def _overdraft_funding_check(
    *, nets: Mapping[int, Decimal], owners: Mapping[int, str], overdrafts: set[int]
) -> None:
    """Refuse a posting whose debited overdraft accounts include one a merchant owns while it
    credits an account a merchant owns (``accounts.models.overdraft_is_credit``)."""
    sources = [pk for pk in overdrafts if overdraft_is_credit(owner_type=owners[pk], allow_negative=True)]
    if sources and any(net > 0 and owners[pk] != OwnerType.PLATFORM for pk, net in nets.items()):
        raise OverdraftFundingError(
            "An account that may go negative cannot fund an account a merchant owns;"
            " fund it with a top-up, a payment or a transfer from a funded account.",
            param="from_account",
        )


def _post(
    *,
    reference: str,
    kind: str,
    lines: Sequence[PostingLine],
    description: str,
    metadata: Mapping[str, Any] | None,
    merchant_id: str,
    reverses_pk: int | None,
    pending_deltas: Mapping[int, Decimal] | None = None,
    audit_event_type: str | None = "ledger.transaction.posted",
    reason_code: str = "",
) -> PostingResult:
    """The posting itself, inside the caller's (entry point's) transaction. See the module docstring.

    ``audit_event_type=None`` leaves the audit row to the caller, which writes one for the
    business object the posting belongs to (a transfer) naming the transaction.
    """
    if kind not in TransactionKind.values:
        raise InvalidRequestError(f"Unknown transaction kind {kind!r}.", param="kind")
    if not reference:
        raise InvalidRequestError("A posting needs a reference.", param="reference")
    raw_nets, currencies_by_id = _lines_net(lines)
    pks = _account_pks_resolve(list(raw_nets))
    nets = {pks[key]: amount for key, amount in raw_nets.items()}
    currencies = {pks[key]: code for key, code in currencies_by_id.items() if key in raw_nets}
    pending_deltas = dict(pending_deltas or {})
    sql = _sql()
    now = timezone.now()
    metadata = dict(metadata or {})
    public_id = new_transaction_id()

    txn_params = [
        public_id,
        kind,
        reference,
        description,
        json.dumps(metadata, cls=DjangoJSONEncoder),
        merchant_id,
        reverses_pk,
        now,
    ]
    debited = sorted({pk for pk, net in nets.items() if net < 0} | set(pending_deltas))
    with connection.cursor() as cursor:
        held = sorted(pending_deltas)
        cursor.execute(
            sql["txn_insert_and_lock"].format(ids=_placeholders(len(debited))),
            [*txn_params, debited, held, debited, held],
        )
        rows = cursor.fetchall()
        if len(rows) != len(debited):
            raise NotFoundError("No such ledger account.", param="account")
        txn_pk = rows[0][0]
        locked = {row[1]: _LockedAccount(*row[1:]) for row in rows if row[2] is not None}
        owners = {row[1]: row[9] for row in rows}
        overdrafts = {row[1] for row in rows if row[2] is None}
        if txn_pk is None:
            existing = _posting_existing(reference=reference, kind=kind, nets=nets, merchant_id=merchant_id)
            return PostingResult(transaction=existing, created=False)

        balance_after: dict[int, Decimal] = {}
        for pk, account in locked.items():
            _status_check(account.status, account.public_id)
            net = nets.get(pk, ZERO)
            if pk in currencies and currencies[pk] != account.currency:
                raise CurrencyMismatchError(
                    f"Account {account.public_id} holds {account.currency}, not {currencies[pk]}.",
                    param="currency",
                )
            new_posted = account.posted_base + account.shard_sum + net
            new_pending = account.pending + pending_deltas.get(pk, ZERO)
            if net < 0 and not account.allow_negative and new_posted - new_pending < 0:
                raise InsufficientFundsError(
                    "Insufficient funds in the account for this posting.", param="amount"
                )
            balance_after[pk] = new_posted

        # Credits, and debits of overdraft accounts: onto one shard each, no account lock.
        sharded = sorted(pk for pk in nets if pk not in locked)
        for pk in sharded:
            # A random shard spreads a hot account's concurrent postings over its shard rows.
            cursor.execute(sql["shard_add"], [nets[pk], pk, random.getrandbits(16), pk])
            if cursor.fetchone() is None:
                raise NotFoundError("No such ledger account.", param="account")

        updates = [(pk, nets.get(pk, ZERO), pending_deltas.get(pk, ZERO)) for pk in locked]
        updates = [update for update in updates if update[1] or update[2]]
        # balance_after of the sharded accounts comes from the read that follows their shard
        # locks (None here: the database fills it in).
        entries = [(txn_pk, pk, nets[pk], currencies[pk], balance_after.get(pk), now) for pk in sorted(nets)]
        # One statement after the shard locks: it reads the sharded accounts (seeing any
        # freeze that committed meanwhile), inserts the entries and updates the locked
        # accounts. A refused status raises below and the whole transaction rolls back.
        try:
            cursor.execute(
                sql["finish"].format(
                    rows=", ".join([ENTRY_VALUES_ROW] * len(entries)),
                    update=sql["finish_update"].format(values=", ".join([UPDATE_VALUES_ROW] * len(updates)))
                    if updates
                    else "",
                ),
                [
                    sharded,
                    *(value for entry in entries for value in entry),
                    *(v for u in updates for v in u),
                ],
            )
        except DatabaseError as exc:
            # The entries' triggers refuse a posting that mixes test and live accounts.
            refusal = _database_refusal(exc)
            if refusal is None:
                raise
            raise refusal from None
        read = cursor.fetchall()
        for pk, account_public_id, currency, status, posted, owner_type in read:
            owners[pk] = owner_type
            _status_check(status, account_public_id)
            if currencies[pk] != currency:
                raise CurrencyMismatchError(
                    f"Account {account_public_id} holds {currency}, not {currencies[pk]}.", param="currency"
                )
            balance_after[pk] = posted
        overdrafts |= {
            pk for pk, account in locked.items() if account.allow_negative and nets.get(pk, ZERO) < 0
        }
        _overdraft_funding_check(nets=nets, owners=owners, overdrafts=overdrafts)

    txn = JournalTransaction(
        pk=txn_pk,
        public_id=public_id,
        kind=kind,
        reference=reference,
        description=description,
        metadata=metadata,
        merchant_id=merchant_id,
        reverses_id=reverses_pk,
        created=now,
    )
    txn._state.adding = False
    txn._state.db = "default"
    if audit_event_type is None:
        return PostingResult(transaction=txn, created=True)
    moved = sum((net for net in nets.values() if net > 0), ZERO)
    single_currency = next(iter(set(currencies.values()))) if len(set(currencies.values())) == 1 else None
    audit_record(
        event_type=audit_event_type,
        object_type="journal_transaction",
        object_id=public_id,
        new_state="posted",
        amount=moved if single_currency else None,
        currency=single_currency,
        merchant_id=merchant_id or None,
        reason_code=reason_code,
        metadata={"reference": reference, "kind": kind},
    )
    return PostingResult(transaction=txn, created=True)


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
    ``NotFoundError``, ``LedgerBusyError``. Joins a caller's open transaction (see the module).
    """
    return _post(
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
    return _post(
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


# --- accounts -------------------------------------------------------------------------------


def _account_lookup(account_id: int | str) -> dict[str, Any]:
    return {"pk": account_id} if isinstance(account_id, int) else {"public_id": account_id}


def _shards_default() -> int:
    return settings.LEDGER_BALANCE_SHARDS


@transaction.atomic(savepoint=False)
def _account_create(
    *,
    owner_type: str,
    merchant_id: str,
    kind: str,
    currency: str,
    allow_negative: bool,
    metadata: Mapping[str, Any] | None,
    balance_shards: int | None,
    livemode: bool,
) -> LedgerAccount:
    if owner_type not in OwnerType.values:
        raise InvalidRequestError(f"Unknown owner type {owner_type!r}.", param="owner_type")
    if kind not in KINDS_BY_OWNER[owner_type]:
        raise InvalidRequestError(f"A {owner_type} account cannot be of kind {kind!r}.", param="kind")
    code = (currency or "").upper()
    if not currency_is_accepted(code):
        raise InvalidRequestError(
            f"Unsupported currency {currency!r}.", code="invalid_currency", param="currency"
        )
    if owner_type == OwnerType.PLATFORM and merchant_id:
        raise InvalidRequestError("Platform accounts have no merchant.", param="merchant_id")
    if owner_type != OwnerType.PLATFORM and not merchant_id:
        raise InvalidRequestError("Merchant and customer accounts need a merchant.", param="merchant_id")
    account = LedgerAccount.objects.create(
        owner_type=owner_type,
        merchant_id=merchant_id or "",
        kind=kind,
        currency=code,
        allow_negative=allow_negative,
        metadata=dict(metadata or {}),
        balance_shards=balance_shards or _shards_default(),
        livemode=livemode,
    )
    LedgerBalanceShard.objects.bulk_create(
        LedgerBalanceShard(account=account, shard=n, allow_negative=account.allow_negative)
        for n in range(account.balance_shards)
    )
    audit_record(
        event_type="ledger.account.opened",
        object_type="ledger_account",
        object_id=account.public_id,
        new_state=account.status,
        currency=code,
        merchant_id=merchant_id or None,
        metadata={
            "kind": kind,
            "owner_type": owner_type,
            "allow_negative": allow_negative,
            "livemode": livemode,
        },
    )
    return account


@ledger_atomic
def account_open(
    *,
    owner_type: str,
    merchant_id: str | None,
    kind: str,
    currency: str,
    allow_negative: bool = False,
    metadata: Mapping[str, Any] | None = None,
    balance_shards: int | None = None,
    livemode: bool = False,
) -> LedgerAccount:
    """Open a ledger account (a customer wallet, a merchant or platform account) in one mode."""
    return _account_create(
        owner_type=owner_type,
        merchant_id=merchant_id or "",
        kind=kind,
        currency=currency,
        allow_negative=allow_negative,
        metadata=metadata,
        balance_shards=balance_shards,
        livemode=livemode,
    )


# A merchant's or the platform's account of a kind, mode and currency (one of each:
# ``accounts_ledgeraccount_unique_kind_per_owner``).
# Compiled queries bind int and str parameters only: one query per mode.
_ACCOUNT_OF_KIND = {
    mode: CompiledQuery(
        lambda merchant_id, kind, currency, mode=mode: LedgerAccount.objects.filter(
            merchant_id=merchant_id, livemode=mode, kind=kind, currency=currency
        ).order_by("pk")[:1],
        merchant_id=str,
        kind=str,
        currency=str,
    )
    for mode in (False, True)
}


def _account_get_or_create(
    *, owner_type: str, merchant_id: str, kind: str, currency: str, allow_negative: bool, livemode: bool
) -> LedgerAccount:
    code = currency.upper()
    account = _ACCOUNT_OF_KIND[livemode].first(merchant_id=merchant_id, kind=kind, currency=code)
    if account is not None:
        return account
    try:
        # A savepoint: a concurrent opener may win the unique constraint; then read theirs.
        with transaction.atomic():
            return _account_create(
                owner_type=owner_type,
                merchant_id=merchant_id,
                kind=kind,
                currency=code,
                allow_negative=allow_negative,
                metadata=None,
                balance_shards=None,
                livemode=livemode,
            )
    except IntegrityError:
        return LedgerAccount.objects.get(merchant_id=merchant_id, livemode=livemode, kind=kind, currency=code)


@ledger_atomic
def merchant_accounts_open(
    *, merchant_id: str, currency: str, livemode: bool = False
) -> dict[str, LedgerAccount]:
    """The merchant's ``pending``, ``available`` and ``reserve`` accounts in ``currency`` and one
    mode (test and live money have accounts of their own); idempotent."""
    if not merchant_id:
        raise InvalidRequestError("A merchant id is required.", param="merchant_id")
    return {
        kind: _account_get_or_create(
            owner_type=OwnerType.MERCHANT,
            merchant_id=merchant_id,
            kind=kind,
            currency=currency,
            allow_negative=False,
            livemode=livemode,
        )
        for kind in sorted(MERCHANT_KINDS)
    }


def merchant_account_get(
    *, merchant_id: str, kind: str, currency: str, livemode: bool = False
) -> LedgerAccount:
    """The merchant's account of ``kind`` in ``currency`` and mode; one query when it exists, else
    its accounts in that currency and mode are opened."""
    account = _ACCOUNT_OF_KIND[livemode].first(merchant_id=merchant_id, kind=kind, currency=currency.upper())
    return (
        account or merchant_accounts_open(merchant_id=merchant_id, currency=currency, livemode=livemode)[kind]
    )


@ledger_atomic
def platform_account_get(*, kind: str, currency: str, livemode: bool = False) -> LedgerAccount:
    """The platform's account of ``kind`` in ``currency`` and mode (each mode has its own chart of
    accounts), opened (overdraft allowed) on first use."""
    return _account_get_or_create(
        owner_type=OwnerType.PLATFORM,
        merchant_id="",
        kind=kind,
        currency=currency,
        allow_negative=True,
        livemode=livemode,
    )


def _account_status_set(
    *, account_id: int | str, status: str, reason: str, allowed_from: set[str]
) -> LedgerAccount:
    try:
        account = LedgerAccount.objects.select_for_update(no_key=True).get(**_account_lookup(account_id))
    except LedgerAccount.DoesNotExist:
        raise NotFoundError(f"No such ledger account: {account_id}.", param="account") from None
    # Wait for credits in flight on any shard: after this commits no credit lands.
    shards = account_shards_lock(account.pk)
    if account.status == status:
        return account
    if account.status not in allowed_from:
        _status_check(account.status, account.public_id)
    if status == AccountStatus.CLOSED:
        posted = account.posted_base + sum((s.amount for s in shards), ZERO)
        if posted != 0 or account.pending != 0:
            raise AccountNotEmptyError(
                f"Ledger account {account.public_id} still has a balance or held funds.", param="account"
            )
    previous = account.status
    account.status = status
    account._change_reason = reason
    account.save(update_fields=["status", "updated"])
    audit_record(
        event_type=f"ledger.account.{status}",
        object_type="ledger_account",
        object_id=account.public_id,
        previous_state=previous,
        new_state=status,
        currency=account.currency,
        merchant_id=account.merchant_id or None,
        reason_code=reason[:64],
    )
    return account


@ledger_atomic
def account_freeze(*, account_id: int | str, reason: str) -> LedgerAccount:
    """Freeze an open account: it neither sends nor receives until unfrozen."""
    return _account_status_set(
        account_id=account_id, status=AccountStatus.FROZEN, reason=reason, allowed_from={AccountStatus.OPEN}
    )


@ledger_atomic
def account_unfreeze(*, account_id: int | str, reason: str) -> LedgerAccount:
    return _account_status_set(
        account_id=account_id, status=AccountStatus.OPEN, reason=reason, allowed_from={AccountStatus.FROZEN}
    )


@ledger_atomic
def account_close(*, account_id: int | str, reason: str) -> LedgerAccount:
    """Close an empty account (no balance, no held funds) for good."""
    return _account_status_set(
        account_id=account_id,
        status=AccountStatus.CLOSED,
        reason=reason,
        allowed_from={AccountStatus.OPEN, AccountStatus.FROZEN},
    )


# --- transfers ------------------------------------------------------------------------------


def _ledger_tenant(merchant_id: str, livemode: bool) -> Tenant:
    """The ledger knows merchants by public id only."""
    return Tenant(merchant_pk=None, merchant_id=merchant_id, livemode=livemode)


def _transfer_accounts_found(
    *, merchant_id: str, livemode: bool, from_account_id: int | str, to_account_id: int | str
) -> dict[str, LedgerAccount]:
    """The two accounts among the merchant's of this mode, by parameter; an account of another
    merchant or mode is missing exactly like an unknown one."""
    wanted = {"from_account": from_account_id, "to_account": to_account_id}
    public_ids = [v for v in wanted.values() if isinstance(v, str)]
    pks = [v for v in wanted.values() if isinstance(v, int)]
    # Only the immutable columns the checks need: status and balances are read under the lock.
    matches = (
        _ledger_tenant(merchant_id, livemode)
        .scope(LedgerAccount.objects.all())
        .filter(Q(public_id__in=public_ids) | Q(pk__in=pks))
        .only("pk", "public_id", "kind", "currency", "merchant_id", "livemode")
    )
    found: dict[int | str, LedgerAccount] = {}
    for account in matches:
        found[account.public_id] = found[account.pk] = account
    accounts = {}
    for param, key in wanted.items():
        account = found.get(key)
        if account is None or account.kind not in TRANSFERABLE_KINDS:
            raise NotFoundError(f"No such account: {key}.", param=param)
        accounts[param] = account
    return accounts


def _transfer_accounts(
    *, merchant_id: str, livemode: bool, from_account_id: int | str, to_account_id: int | str, currency: str
) -> tuple[LedgerAccount, LedgerAccount]:
    found = _transfer_accounts_found(
        merchant_id=merchant_id,
        livemode=livemode,
        from_account_id=from_account_id,
        to_account_id=to_account_id,
    )
    accounts = {}
    for param, account in found.items():
        if account.currency != currency:
            raise CurrencyMismatchError(
                f"Account {account.public_id} holds {account.currency.lower()}, not {currency.lower()}.",
                param="currency",
            )
        accounts[param] = account
    if accounts["from_account"].pk == accounts["to_account"].pk:
        raise InvalidRequestError("A transfer needs two different accounts.", param="to_account")
    return accounts["from_account"], accounts["to_account"]


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
    already made. Emits ``transfer.created``. On PostgreSQL the transfer is one call of the
    database function ``ledger_transfer_create`` (``_TransferCall``); called with no
    transaction open, that statement is the whole transaction. Elsewhere, and for the rare row
    whose audit text cannot be cut for the database, the same steps run from Python.
    """
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise InvalidRequestError(
            "A transfer amount must be positive.", code="invalid_amount", param="amount"
        )
    _amount_check(amount)
    request = _TransferRequest(
        merchant_id=merchant_id,
        livemode=livemode,
        from_account_id=from_account_id,
        to_account_id=to_account_id,
        amount=amount,
        description=description,
        metadata=dict(metadata or {}),
        reference=reference,
    )
    call = _TransferCall.build(request) if _transfer_in_database() else None
    if call is None:
        return _transfer_create_python(request)
    if connection.get_autocommit():
        return _ledger_retry(call.run)
    if not connection.in_atomic_block:
        # A manual transaction (an API request's idempotency run): the one statement joins it
        # with no savepoint around it. A refusal or conflict leaves that transaction aborted;
        # its owner rolls it back (``idempotent_run`` then stores the error response alone).
        try:
            with transaction.atomic(savepoint=False):
                return call.run()
        except DatabaseError as exc:
            if _is_retryable(exc):
                raise LedgerBusyError("The ledger is busy: nothing was posted; retry.") from exc
            raise
    return ledger_atomic(call.run)()


def _transfer_in_database() -> bool:
    return settings.LEDGER_TRANSFER_IN_DATABASE


@dataclass(frozen=True)
class _TransferRequest:
    """What ``transfer_create`` was asked, checked; both paths build their rows from it."""

    merchant_id: str
    livemode: bool
    from_account_id: int | str
    to_account_id: int | str
    amount: Money
    description: str
    metadata: dict[str, Any]
    reference: str | None

    def transfer(self, source: LedgerAccount, destination: LedgerAccount, **fields: Any) -> Transfer:
        return Transfer(
            merchant_id=self.merchant_id,
            from_account=source,
            to_account=destination,
            amount=self.amount.amount,
            currency=self.amount.currency.code,
            description=self.description,
            metadata=self.metadata,
            **fields,
        )


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


def _transfer_created_event(transfer: Transfer) -> dict[str, Any]:
    """The ``transfer.created`` event's fields (``event_build``'s arguments)."""
    return {
        "event_type": "transfer.created",
        "merchant_id": transfer.merchant_id,
        "object_type": "transfer",
        "data": {"object": transfer_object(transfer)},
        "livemode": transfer.from_account.livemode,
    }


@ledger_atomic
def _transfer_create_python(request: _TransferRequest) -> Transfer:
    amount = request.amount
    source, destination = _transfer_accounts(
        merchant_id=request.merchant_id,
        livemode=request.livemode,
        from_account_id=request.from_account_id,
        to_account_id=request.to_account_id,
        currency=amount.currency.code,
    )
    transfer = request.transfer(source, destination)
    result = _post(
        reference=request.reference or f"transfer:{transfer.public_id}",
        kind=TransactionKind.TRANSFER,
        lines=[
            PostingLine(account_id=source.pk, amount=-amount),
            PostingLine(account_id=destination.pk, amount=amount),
        ],
        description=request.description,
        metadata={"transfer": transfer.public_id},
        merchant_id=request.merchant_id,
        reverses_pk=None,
        audit_event_type=None,  # the transfer's own audit row below names the transaction
    )
    if not result.created:
        return Transfer.objects.select_related("from_account", "to_account", "transaction").get(
            transaction=result.transaction
        )
    transfer.transaction = result.transaction
    transfer.save(force_insert=True)
    audit_record(**_transfer_created_audit(transfer, result.transaction))
    event_emit(**_transfer_created_event(transfer))
    return transfer


# SQLSTATEs the database's ledger functions (migration accounts/0005) refuse with, as errors;
# the message is the merchant's, the HINT the parameter.
_DATABASE_REFUSALS: dict[str, type[PaysysError]] = {
    "PT400": InvalidRequestError,
    "PT402": InsufficientFundsError,
    "PT404": NotFoundError,
    "PT4OD": OverdraftFundingError,
    "PT409": CurrencyMismatchError,
    "PT410": AccountClosedError,
    "PT412": LivemodeMismatchError,
    "PT423": AccountFrozenError,
}
# Constants only are formatted in (the kinds; the audit row's arguments as AUDIT_APPEND_SQL
# spells them); every value is a bound parameter.
_TRANSFERABLE_KINDS_SQL = ", ".join(f"'{kind}'" for kind in sorted(TRANSFERABLE_KINDS))
_AUDIT_ARGS_SQL = AUDIT_APPEND_SQL.removeprefix("audit_append(").removesuffix(")")
_TRANSFER_SQL = (
    "SELECT txn_id, transfer_id, event_id, from_id, from_public, to_id, to_public FROM ledger_transfer_create("  # noqa: S608
    f"%s, %s::bigint, %s, %s::bigint, %s, %s::numeric, %s, ARRAY[{_TRANSFERABLE_KINDS_SQL}],"
    f" %s::timestamptz, %s::jsonb, %s::jsonb, %s::integer, %s, {_AUDIT_ARGS_SQL}, %s::jsonb)"
)
_ACCOUNT_COLUMNS = ["id", "public_id", "merchant_id", "currency", "livemode"]
# The event's columns the function reads from its JSON argument (the merchant and time are their own).
_EVENT_FIELDS = ("public_id", "type", "object_type", "object_id", "data", "livemode", "correlation_id")


def _database_refusal(exc: DatabaseError) -> PaysysError | None:
    diag = getattr(exc.__cause__, "diag", None)
    error = _DATABASE_REFUSALS.get(getattr(exc.__cause__, "sqlstate", None) or "")
    if error is None or diag is None:
        return None
    return error(diag.message_primary, param=diag.message_hint)


def _account_key_args(key: int | str) -> list[int | str | None]:
    """An account named by pk or public id, as the function's (pk, public id) pair."""
    return [key, None] if isinstance(key, int) else [None, key]


def _json(value: object) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder)


@dataclass
class _TransferCall:
    """One ``ledger_transfer_create`` call: the rows Python renders, and what it returns made
    into the objects the Python path would have saved."""

    transfer: Transfer
    txn: JournalTransaction
    event: Event
    args: list[Any]

    @classmethod
    def build(cls, request: _TransferRequest) -> "_TransferCall | None":
        merchant_id, amount, currency = request.merchant_id, request.amount, request.amount.currency.code
        now = timezone.now()
        # The accounts as far as the arguments name them; the database fills in the rest.
        source, destination = (
            LedgerAccount(pk=key, public_id="", livemode=request.livemode)
            if isinstance(key, int)
            else LedgerAccount(public_id=key, livemode=request.livemode)
            for key in (request.from_account_id, request.to_account_id)
        )
        transfer = request.transfer(source, destination, created=now, updated=now)
        txn = JournalTransaction(
            public_id=new_transaction_id(),
            kind=TransactionKind.TRANSFER,
            reference=request.reference or f"transfer:{transfer.public_id}",
            description=request.description,
            metadata={"transfer": transfer.public_id},
            merchant_id=merchant_id,
            created=now,
        )
        transfer.transaction = txn
        audit, start = audit_event_build(**_transfer_created_audit(transfer, txn))
        audit_args = audit_append_args(audit, start=start)
        if audit_args is None:
            return None
        event = event_build(**_transfer_created_event(transfer))
        event.created = now
        history_user, history_reason = history_stamp()
        args = [
            merchant_id,
            *_account_key_args(request.from_account_id),
            *_account_key_args(request.to_account_id),
            amount.amount,
            currency,
            now,
            _json(
                {f: getattr(txn, f) for f in ("public_id", "kind", "reference", "description", "metadata")}
            ),
            _json({f: getattr(transfer, f) for f in ("public_id", "description", "metadata", "status")}),
            history_user,
            history_reason,
            *audit_args,
            _json({f: getattr(event, f) for f in _EVENT_FIELDS}),
        ]
        return cls(transfer=transfer, txn=txn, event=event, args=args)

    def run(self) -> Transfer:
        with connection.cursor() as cursor:
            try:
                cursor.execute(_TRANSFER_SQL, self.args)
            except DatabaseError as exc:
                refusal = _database_refusal(exc)
                if refusal is None:
                    raise
                raise refusal from None
            txn_pk, transfer_pk, event_pk, from_pk, from_public, to_pk, to_public = cursor.fetchone()
        if txn_pk is None:
            amount = self.transfer.amount
            existing = _posting_existing(
                reference=self.txn.reference,
                kind=self.txn.kind,
                nets={from_pk: -amount, to_pk: amount},
                merchant_id=self.transfer.merchant_id,
            )
            return Transfer.objects.select_related("from_account", "to_account", "transaction").get(
                transaction=existing
            )
        merchant_id, currency = self.transfer.merchant_id, self.transfer.currency
        livemode = self.event.livemode
        self.transfer.from_account = LedgerAccount.from_db(
            connection.alias, _ACCOUNT_COLUMNS, (from_pk, from_public, merchant_id, currency, livemode)
        )
        self.transfer.to_account = LedgerAccount.from_db(
            connection.alias, _ACCOUNT_COLUMNS, (to_pk, to_public, merchant_id, currency, livemode)
        )
        for instance, pk in ((self.txn, txn_pk), (self.transfer, transfer_pk), (self.event, event_pk)):
            instance.pk = pk
            instance._state.adding = False
            instance._state.db = connection.alias
        self.transfer.transaction = self.txn
        self.event.data["object"].update(from_account=from_public, to_account=to_public)
        event_announce(self.event)
        return self.transfer


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
    result = _post(
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


# --- holds ----------------------------------------------------------------------------------


def hold_lock(hold_id: int | str) -> Hold:
    lookup = {"pk": hold_id} if isinstance(hold_id, int) else {"public_id": hold_id}
    try:
        return (
            Hold.objects.select_for_update(of=("self",), no_key=True).select_related("account").get(**lookup)
        )
    except Hold.DoesNotExist:
        raise NotFoundError(f"No such hold: {hold_id}.", param="hold") from None


@ledger_atomic
def hold_place(
    *, account_id: int | str, amount: Money, reference: str, expires_at: datetime | None = None
) -> Hold:
    """Reserve ``amount`` of the account's available funds; idempotent on ``reference``."""
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise InvalidRequestError("A hold amount must be positive.", code="invalid_amount", param="amount")
    try:
        money_to_minor(amount)
    except ValueError as exc:
        raise InvalidRequestError(str(exc), code="invalid_amount", param="amount") from exc
    pk = _account_pks_resolve([account_id])[account_id]
    account = accounts_lock([pk])[pk]
    existing = Hold.objects.filter(reference=reference).first()
    if existing is not None:
        if (
            existing.account_id != pk
            or existing.amount != amount.amount
            or existing.currency != amount.currency.code
        ):
            raise ReferenceConflictError(f"Hold reference {reference!r} is already used.", param="reference")
        return existing
    _status_check(account.status, account_id)
    if account.currency != amount.currency.code:
        raise CurrencyMismatchError(f"The account holds {account.currency}.", param="currency")
    available = account.posted_base + account.shard_sum - account.pending
    if not account.allow_negative and available < amount.amount:
        raise InsufficientFundsError("Insufficient available funds for this hold.", param="amount")
    with connection.cursor() as cursor:
        cursor.execute(_sql()["account_update"], [ZERO, amount.amount, pk])
    hold = Hold.objects.create(
        account_id=pk,
        amount=amount.amount,
        currency=account.currency,
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


def _hold_end(hold: Hold, *, status: str) -> Hold:
    if hold.status != HoldStatus.HELD:
        raise HoldStateError(f"Hold {hold.public_id} is {hold.status}.", param="hold", status=hold.status)
    accounts_lock([hold.account_id])
    with connection.cursor() as cursor:
        cursor.execute(_sql()["account_update"], [ZERO, -hold.amount, hold.account_id])
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
    result = _post(
        reference=reference,
        kind=kind,
        lines=[
            PostingLine(account_id=hold.account_id, amount=-capture),
            PostingLine(account_id=to_account_id, amount=capture),
        ],
        description=description,
        metadata=metadata,
        merchant_id=merchant_id or "",
        reverses_pk=None,
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
    """Expire every held hold past its ``expires_at``, each in its own transaction; returns the count."""
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


# --- verification ---------------------------------------------------------------------------

# Failing rows reported per check: enough to act on, bounded so a broken ledger stays readable.
VERIFY_MAX_ROWS_PER_CHECK = 100


@dataclass(frozen=True)
class LedgerVerificationResult:
    ok: bool
    summary: dict[str, Any]
    failures: list[dict[str, Any]]


def _verify_checks() -> dict[str, str]:
    acct = LedgerAccount._meta.db_table
    shard = LedgerBalanceShard._meta.db_table
    entry = Entry._meta.db_table
    txn = JournalTransaction._meta.db_table
    hold = Hold._meta.db_table
    stored = f"""
        SELECT a.id, a.public_id, a.currency, a.livemode, a.allow_negative, a.pending,
               a.posted_base + COALESCE(s.total, 0) AS posted
          FROM {acct} a
          LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM {shard} GROUP BY account_id) s
            ON s.account_id = a.id
    """  # noqa: S608
    return {
        # ROUND: a no-op on NUMERIC(19, 3).
        # Every journal transaction sums to zero per currency.
        "transaction_unbalanced": f"""
            SELECT t.public_id AS txn, e.currency, SUM(e.amount) AS total
              FROM {entry} e JOIN {txn} t ON t.id = e.transaction_id
             GROUP BY t.public_id, e.currency HAVING ROUND(SUM(e.amount), 3) <> 0 ORDER BY 1
        """,  # noqa: S608
        # Every account's stored balance equals the sum of its entries.
        "balance_differs_from_entries": f"""
            SELECT b.public_id AS account, b.posted AS stored, COALESCE(e.total, 0) AS entries
              FROM ({stored}) b
              LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM {entry} GROUP BY account_id) e
                ON e.account_id = b.id
             WHERE ROUND(b.posted - COALESCE(e.total, 0), 3) <> 0 ORDER BY 1
        """,  # noqa: S608
        # All stored balances of a currency sum to zero, in each mode (test and live money are
        # two ledgers that never exchange a cent).
        "currency_not_zero": f"""
            SELECT b.currency, b.livemode, SUM(b.posted) AS total FROM ({stored}) b
             GROUP BY b.currency, b.livemode HAVING ROUND(SUM(b.posted), 3) <> 0 ORDER BY 1, 2
        """,  # noqa: S608
        # A journal transaction moves money of one mode.
        "transaction_mixes_modes": f"""
            SELECT t.public_id AS txn FROM {entry} e
              JOIN {txn} t ON t.id = e.transaction_id JOIN {acct} a ON a.id = e.account_id
             GROUP BY t.public_id HAVING COUNT(DISTINCT a.livemode) > 1 ORDER BY 1
        """,  # noqa: S608
        # No account without overdraft is below zero, posted or available.
        "negative_without_overdraft": f"""
            SELECT b.public_id AS account, b.posted, b.pending FROM ({stored}) b
             WHERE NOT b.allow_negative AND (ROUND(b.posted, 3) < 0 OR ROUND(b.posted - b.pending, 3) < 0) ORDER BY 1
        """,  # noqa: S608
        # An account's held amount is the sum of its open holds.
        "pending_differs_from_holds": f"""
            SELECT a.public_id AS account, a.pending AS stored, COALESCE(h.total, 0) AS holds
              FROM {acct} a
              LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM {hold} WHERE status = 'held'
                          GROUP BY account_id) h ON h.account_id = a.id
             WHERE ROUND(a.pending - COALESCE(h.total, 0), 3) <> 0 ORDER BY 1
        """,  # noqa: S608
        # A shard carries its account's overdraft flag (its CHECK relies on it).
        "shard_overdraft_flag_differs": f"""
            SELECT a.public_id AS account, s.shard FROM {shard} s JOIN {acct} a ON a.id = s.account_id
             WHERE s.allow_negative <> a.allow_negative ORDER BY 1, 2
        """,  # noqa: S608
        # An entry is in its account's currency.
        "entry_currency_mismatch": f"""
            SELECT e.id AS entry, e.currency, a.currency AS account_currency
              FROM {entry} e JOIN {acct} a ON a.id = e.account_id
             WHERE e.currency <> a.currency ORDER BY 1
        """,  # noqa: S608
        "summary": f"""
            SELECT (SELECT COUNT(*) FROM {acct}), (SELECT COUNT(*) FROM {txn}), (SELECT COUNT(*) FROM {entry})
        """,  # noqa: S608
    }


def _rows_as_dicts(cursor, limit: int) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [
        {
            name: (str(value) if isinstance(value, Decimal) else value)
            for name, value in zip(names, row, strict=True)
        }
        for row in cursor.fetchmany(limit)
    ]


def ledger_verify(*, store: bool = False) -> LedgerVerificationResult:
    """Check every ledger invariant with set-based SQL on one consistent snapshot.

    The checks: each transaction sums to zero per currency; each account's stored balance
    (base + shards) equals the sum of its entries; each currency's balances sum to zero in each
    mode; no transaction mixes test and live accounts; no account without overdraft is below
    zero; ``pending`` equals the open holds; entries are in their account's currency. Then the
    checks other apps registered (``accounts.checks``: the processor reconciliation's unresolved
    breaks). With ``store`` the result is kept as a ``LedgerVerification`` row.
    """
    started = time.monotonic()
    checks = _verify_checks()
    registered = ledger_checks()
    failures: list[dict[str, Any]] = []
    outermost = not connection.in_atomic_block
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        if outermost:
            # One snapshot for every check, while postings go on.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for name, sql in checks.items():
            if name == "summary":
                continue
            cursor.execute(sql)
            failures += [{"check": name, **row} for row in _rows_as_dicts(cursor, VERIFY_MAX_ROWS_PER_CHECK)]
        for name, check in registered.items():
            failures += [{"check": name, **row} for row in check()[:VERIFY_MAX_ROWS_PER_CHECK]]
        cursor.execute(checks["summary"])
        accounts, transactions, entries = cursor.fetchone()
    summary = {
        "checks": [name for name in checks if name != "summary"] + list(registered),
        "accounts": accounts,
        "transactions": transactions,
        "entries": entries,
        "failures": len(failures),
    }
    result = LedgerVerificationResult(ok=not failures, summary=summary, failures=failures)
    if store:
        with transaction.atomic(durable=True):
            LedgerVerification.objects.create(
                ok=result.ok,
                summary=summary,
                failures=failures,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            audit_record(
                event_type="ledger.verified",
                object_type="ledger",
                object_id="ledger",
                new_state="ok" if result.ok else "failed",
                metadata={"failures": len(failures)},
            )
    return result
