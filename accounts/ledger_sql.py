"""The ledger's persistence seam: every raw SQL statement of the accounts app, the calls of its
database functions (``accounts/sql/``), the instances built from what they return, the compiled
queries of its hot reads, and the mapping of the functions' refusals (SQLSTATE class ``PT``) to
domain errors. The services (``accounts.services``) call these and read as intent.

Every value is a bound parameter; table names are written out (the statements are constants).
"""

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection
from django.db.models import Model

from accounts.errors import (
    CurrencyMismatchError,
    LivemodeMismatchError,
    OverdraftFundingError,
)
from accounts.models import JournalTransaction, LedgerAccount
from paysys.db.compiled import CompiledQuery
from paysys.errors import (
    AccountClosedError,
    AccountFrozenError,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    PaysysError,
)

# The SQLSTATEs the ledger's functions (and the entries' mode trigger) refuse with; the message
# is the merchant's, the HINT the parameter.
REFUSALS: dict[str, type[PaysysError]] = {
    "PT400": InvalidRequestError,
    "PT402": InsufficientFundsError,
    "PT404": NotFoundError,
    "PT4OD": OverdraftFundingError,
    "PT409": CurrencyMismatchError,
    "PT410": AccountClosedError,
    "PT412": LivemodeMismatchError,
    "PT423": AccountFrozenError,
}
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def refusal_from(exc: DatabaseError) -> PaysysError | None:
    """The domain error a refusal of the ledger's SQL stands for, or None for any other failure."""
    diag = getattr(exc.__cause__, "diag", None)
    error = REFUSALS.get(getattr(exc.__cause__, "sqlstate", None) or "")
    if error is None or diag is None:
        return None
    return error(diag.message_primary, param=diag.message_hint)


def is_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` (or one of its causes) is a deadlock or serialization failure."""
    cause: BaseException | None = exc
    while cause is not None:
        if getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        cause = cause.__cause__
    return False


@contextmanager
def _refusals_raised() -> Iterator[None]:
    try:
        yield
    except DatabaseError as exc:
        refusal = refusal_from(exc)
        if refusal is None:
            raise
        raise refusal from None


def _json(value: object) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder)


def instance_saved(instance: Model, pk: int) -> None:
    """Mark an instance whose row the SQL inserted as saved, with its primary key."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias


# --- postings: ledger_post (accounts/sql/ledger_post.sql) -----------------------------------

_POST_SQL = (
    "SELECT ledger_post(%s::jsonb, %s::timestamptz, %s::bigint[], %s::numeric[], %s::text[], %s::numeric[],"
    " %s::jsonb, %s::integer, %s::integer, %s::text, ARRAY[%s, %s, %s, %s]::text[])"
)
# audit_append's arguments when the caller writes the audit row itself.
NO_AUDIT = [None] * 8


@dataclass(frozen=True)
class AccountChange:
    """One account's part of a posting: its net amount, the lines' currency, the change of its
    held amount."""

    account_pk: int
    amount: Decimal
    currency: str
    pending: Decimal


def posting_insert(
    *,
    txn: JournalTransaction | None,
    created: datetime,
    changes: Sequence[AccountChange],
    audit_args: Sequence[Any],
) -> int | None:
    """Call ``ledger_post``: the journal transaction's new id, or None (no transaction asked, or
    its reference exists). ``audit_args`` are ``audit_append``'s (``NO_AUDIT`` for none)."""
    ordered = sorted(changes, key=lambda change: change.account_pk)
    txn_json = (
        None
        if txn is None
        else _json(
            {
                "public_id": txn.public_id,
                "kind": txn.kind,
                "reference": txn.reference,
                "description": txn.description,
                "metadata": txn.metadata,
                "merchant_id": txn.merchant_id,
                "reverses_id": txn.reverses_id,
            }
        )
    )
    with connection.cursor() as cursor, _refusals_raised():
        cursor.execute(
            _POST_SQL,
            [
                txn_json,
                created,
                [c.account_pk for c in ordered],
                [c.amount for c in ordered],
                [c.currency for c in ordered],
                [c.pending for c in ordered],
                *audit_args,
            ],
        )
        (txn_pk,) = cursor.fetchone()
    if txn is not None and txn_pk is not None:
        instance_saved(txn, txn_pk)
    return txn_pk


def posting_stored(reference: str) -> tuple[JournalTransaction, dict[int, Decimal]]:
    """The journal transaction posted under ``reference`` and its amount per account."""
    existing = JournalTransaction.objects.get(reference=reference)
    return existing, dict(existing.entries.values_list("account_id", "amount"))


# --- transfers: ledger_transfer_create (accounts/sql/ledger_transfer_create.sql) ------------

_TRANSFER_SQL = (
    "SELECT txn_id, transfer_id, event_id, from_id, from_public, to_id, to_public FROM ledger_transfer_create("
    "%s, %s::bigint, %s, %s::bigint, %s, %s::numeric, %s, %s::text[], %s::timestamptz, %s::jsonb, %s::jsonb,"
    " %s::integer, %s, %s::jsonb, %s::integer, %s::integer, %s::text, ARRAY[%s, %s, %s, %s]::text[], %s::jsonb)"
)
_ACCOUNT_COLUMNS = ["id", "public_id", "merchant_id", "currency", "livemode"]


@dataclass(frozen=True)
class TransferWritten:
    """What ``ledger_transfer_create`` returned: the new rows' ids (``txn_pk`` None when the
    reference existed) and the two accounts."""

    txn_pk: int | None
    transfer_pk: int | None
    event_pk: int | None
    from_account: tuple[int, str]
    to_account: tuple[int, str]


def _account_key(key: int | str) -> list[int | str | None]:
    """An account named by pk or public id, as the function's (pk, public id) pair."""
    return [key, None] if isinstance(key, int) else [None, key]


def transfer_insert(
    *,
    merchant_id: str,
    from_account_id: int | str,
    to_account_id: int | str,
    amount: Decimal,
    currency: str,
    kinds: Sequence[str],
    created: datetime,
    txn: dict[str, Any],
    transfer: dict[str, Any],
    history: tuple[int | None, str],
    audit_args: Sequence[Any],
    event: dict[str, Any],
) -> TransferWritten:
    """Call ``ledger_transfer_create`` with the rows Python rendered."""
    with connection.cursor() as cursor, _refusals_raised():
        cursor.execute(
            _TRANSFER_SQL,
            [
                merchant_id,
                *_account_key(from_account_id),
                *_account_key(to_account_id),
                amount,
                currency,
                sorted(kinds),
                created,
                _json(txn),
                _json(transfer),
                *history,
                *audit_args,
                _json(event),
            ],
        )
        txn_pk, transfer_pk, event_pk, from_pk, from_public, to_pk, to_public = cursor.fetchone()
    return TransferWritten(txn_pk, transfer_pk, event_pk, (from_pk, from_public), (to_pk, to_public))


def account_from_row(
    *, pk: int, public_id: str, merchant_id: str, currency: str, livemode: bool
) -> LedgerAccount:
    """An account instance with the columns a transfer shows (its other fields deferred)."""
    return LedgerAccount.from_db(
        connection.alias, _ACCOUNT_COLUMNS, (pk, public_id, merchant_id, currency, livemode)
    )


# --- locks and reads ------------------------------------------------------------------------

_ACCOUNTS_LOCK_SQL = (
    "SELECT a.id, a.public_id, a.currency, a.status, a.allow_negative, a.posted_base, a.pending,"
    " COALESCE((SELECT SUM(s.amount) FROM accounts_ledgerbalanceshard s WHERE s.account_id = a.id), 0),"
    " a.owner_type FROM accounts_ledgeraccount a WHERE a.id = ANY(%s) ORDER BY a.id FOR NO KEY UPDATE OF a"
)


@dataclass
class LockedAccount:
    pk: int
    public_id: str
    currency: str
    status: str
    allow_negative: bool
    posted_base: Decimal
    pending: Decimal
    shard_sum: Decimal
    owner_type: str


def accounts_rows_lock(pks: Sequence[int]) -> dict[int, LockedAccount]:
    """Lock the accounts ``FOR NO KEY UPDATE`` in ascending id order; their balance columns."""
    with connection.cursor() as cursor:
        cursor.execute(_ACCOUNTS_LOCK_SQL, [sorted(set(pks))])
        return {row[0]: LockedAccount(*row) for row in cursor.fetchall()}


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


def account_of_kind(*, merchant_id: str, kind: str, currency: str, livemode: bool) -> LedgerAccount | None:
    return _ACCOUNT_OF_KIND[livemode].first(merchant_id=merchant_id, kind=kind, currency=currency)


# --- verification: every ledger invariant, set-based, on one snapshot ----------------------

VERIFY_CHECKS = {
    # ROUND: a no-op on NUMERIC(19, 3).
    # Every journal transaction sums to zero per currency.
    "transaction_unbalanced": """
        SELECT t.public_id AS txn, e.currency, SUM(e.amount) AS total
          FROM accounts_entry e JOIN accounts_journaltransaction t ON t.id = e.transaction_id
         GROUP BY t.public_id, e.currency HAVING ROUND(SUM(e.amount), 3) <> 0 ORDER BY 1
    """,
    # Every account's stored balance equals the sum of its entries.
    "balance_differs_from_entries": """
        SELECT b.public_id AS account, b.posted AS stored, COALESCE(e.total, 0) AS entries
          FROM ledger_account_balances b
          LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM accounts_entry GROUP BY account_id) e
            ON e.account_id = b.id
         WHERE ROUND(b.posted - COALESCE(e.total, 0), 3) <> 0 ORDER BY 1
    """,
    # All stored balances of a currency sum to zero, in each mode (test and live money are
    # two ledgers that never exchange a cent).
    "currency_not_zero": """
        SELECT b.currency, b.livemode, SUM(b.posted) AS total FROM ledger_account_balances b
         GROUP BY b.currency, b.livemode HAVING ROUND(SUM(b.posted), 3) <> 0 ORDER BY 1, 2
    """,
    # A journal transaction moves money of one mode.
    "transaction_mixes_modes": """
        SELECT t.public_id AS txn FROM accounts_entry e
          JOIN accounts_journaltransaction t ON t.id = e.transaction_id
          JOIN accounts_ledgeraccount a ON a.id = e.account_id
         GROUP BY t.public_id HAVING COUNT(DISTINCT a.livemode) > 1 ORDER BY 1
    """,
    # No account without overdraft is below zero, posted or available.
    "negative_without_overdraft": """
        SELECT b.public_id AS account, b.posted, b.pending FROM ledger_account_balances b
         WHERE NOT b.allow_negative AND (ROUND(b.posted, 3) < 0 OR ROUND(b.posted - b.pending, 3) < 0)
         ORDER BY 1
    """,
    # An account's held amount is the sum of its open holds.
    "pending_differs_from_holds": """
        SELECT a.public_id AS account, a.pending AS stored, COALESCE(h.total, 0) AS holds
          FROM accounts_ledgeraccount a
          LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM accounts_hold WHERE status = 'held'
                      GROUP BY account_id) h ON h.account_id = a.id
         WHERE ROUND(a.pending - COALESCE(h.total, 0), 3) <> 0 ORDER BY 1
    """,
    # A shard carries its account's overdraft flag (its CHECK relies on it).
    "shard_overdraft_flag_differs": """
        SELECT a.public_id AS account, s.shard
          FROM accounts_ledgerbalanceshard s JOIN accounts_ledgeraccount a ON a.id = s.account_id
         WHERE s.allow_negative <> a.allow_negative ORDER BY 1, 2
    """,
    # An entry is in its account's currency.
    "entry_currency_mismatch": """
        SELECT e.id AS entry, e.currency, a.currency AS account_currency
          FROM accounts_entry e JOIN accounts_ledgeraccount a ON a.id = e.account_id
         WHERE e.currency <> a.currency ORDER BY 1
    """,
    "summary": """
        SELECT (SELECT COUNT(*) FROM accounts_ledgeraccount), (SELECT COUNT(*) FROM accounts_journaltransaction),
               (SELECT COUNT(*) FROM accounts_entry)
    """,
}


VERIFY_SNAPSHOT_SQL = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
