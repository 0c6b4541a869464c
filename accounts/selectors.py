"""Reads of the ledger. Balances come from stored rows (an account and its few balance shards),
never from summing entries, so every balance read is O(1) in the number of entries.

``posted_base`` alone is not an account's balance: read it through ``accounts_with_balances``
(annotations ``posted`` and ``available``) or ``account_balance_get``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from moneyed import Money

from accounts.models import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_MAX_DIGITS,
    ZERO,
    AccountKind,
    Entry,
    Hold,
    JournalTransaction,
    LedgerAccount,
    LedgerBalanceShard,
    OwnerType,
    Transfer,
)
from paysys.errors import NotFoundError
from paysys.tenancy import Tenant


def _amount_field() -> DecimalField:
    return DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)


def accounts_with_balances(queryset: QuerySet[LedgerAccount] | None = None) -> QuerySet[LedgerAccount]:
    """Accounts annotated with ``posted`` (base + shards) and ``available`` (posted - pending)."""
    shard_sum = (
        LedgerBalanceShard.objects.filter(account_id=OuterRef("pk"))
        .order_by()
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    queryset = LedgerAccount.objects.all() if queryset is None else queryset
    # Round to the stored 3 places: a no-op on PostgreSQL's NUMERIC(19, 3).
    return queryset.annotate(
        posted=Round(
            F("posted_base") + Coalesce(Subquery(shard_sum, output_field=_amount_field()), Value(ZERO)),
            AMOUNT_DECIMAL_PLACES,
            output_field=_amount_field(),
        ),
    ).annotate(
        available=Round(F("posted") - F("pending"), AMOUNT_DECIMAL_PLACES, output_field=_amount_field())
    )


def _lookup(account_id: int | str) -> dict:
    return {"pk": account_id} if isinstance(account_id, int) else {"public_id": account_id}


def account_get(*, account_id: int | str, tenant: Tenant | None = None) -> LedgerAccount:
    """One account with its balances; a tenant sees only its own of its mode (any other is
    NotFound, like an unknown id). Without a tenant (operators, internal callers): any account."""
    queryset = accounts_with_balances()
    if tenant is not None:
        queryset = tenant.scope(queryset)
    try:
        return queryset.get(**_lookup(account_id))
    except (LedgerAccount.DoesNotExist, ValueError):
        raise NotFoundError(f"No such account: {account_id}.", param="account") from None


def account_list(
    *,
    tenant: Tenant | None = None,
    owner_type: str | None = None,
    kind: str | None = None,
    currency: str | None = None,
    status: str | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
) -> QuerySet[LedgerAccount]:
    """Accounts with balances, newest first, filtered as given."""
    filters = {
        "owner_type": owner_type,
        "kind": kind,
        "currency": currency.upper() if currency else None,
        "status": status,
        "created__gte": created_gte,
        "created__lt": created_lt,
    }
    queryset = LedgerAccount.objects.filter(**{k: v for k, v in filters.items() if v is not None})
    if tenant is not None:
        queryset = tenant.scope(queryset)
    return accounts_with_balances(queryset).order_by("-pk")


@dataclass(frozen=True)
class AccountBalance:
    posted: Money
    pending: Money
    available: Money


def account_balance_get(*, account_id: int | str, tenant: Tenant | None = None) -> AccountBalance:
    account = account_get(account_id=account_id, tenant=tenant)
    return AccountBalance(
        posted=Money(account.posted, account.currency),
        pending=Money(account.pending, account.currency),
        available=Money(account.available, account.currency),
    )


def entry_list(
    *,
    account_id: int | str,
    tenant: Tenant | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
) -> QuerySet[Entry]:
    """The account's entries, newest first, with their journal transaction (its kind is the type)."""
    account = account_get(account_id=account_id, tenant=tenant)
    queryset = Entry.objects.filter(account_id=account.pk).select_related("transaction", "account")
    if created_gte is not None:
        queryset = queryset.filter(created__gte=created_gte)
    if created_lt is not None:
        queryset = queryset.filter(created__lt=created_lt)
    return queryset.order_by("-pk")


@dataclass(frozen=True)
class MerchantBalance:
    currency: str
    available: Money
    pending: Money
    reserved: Money


def balance_for_merchant(*, tenant: Tenant) -> dict[str, MerchantBalance]:
    """Per currency, in the tenant's mode only: ``available`` (settled, not paid out, minus
    holds), ``pending`` (captured, not yet settled) and ``reserved`` (withheld in the reserve).
    One query."""
    rows = accounts_with_balances(
        tenant.scope(
            LedgerAccount.objects.filter(
                owner_type=OwnerType.MERCHANT,
                kind__in=[AccountKind.AVAILABLE, AccountKind.PENDING, AccountKind.RESERVE],
            )
        )
    ).values_list("currency", "kind", "posted", "available")
    amounts: dict[str, dict[str, Decimal]] = {}
    for currency, kind, posted, available in rows:
        per_currency = amounts.setdefault(currency, {"available": ZERO, "pending": ZERO, "reserved": ZERO})
        if kind == AccountKind.AVAILABLE:
            per_currency["available"] += available
        elif kind == AccountKind.PENDING:
            per_currency["pending"] += posted
        else:
            per_currency["reserved"] += posted
    return {
        currency: MerchantBalance(
            currency=currency,
            available=Money(values["available"], currency),
            pending=Money(values["pending"], currency),
            reserved=Money(values["reserved"], currency),
        )
        for currency, values in sorted(amounts.items())
    }


def journal_transaction_get(
    *, transaction_id: int | str, merchant_id: str | None = None
) -> JournalTransaction:
    queryset = JournalTransaction.objects.all()
    if merchant_id is not None:
        queryset = queryset.filter(merchant_id=merchant_id)
    try:
        return queryset.get(**_lookup(transaction_id))
    except JournalTransaction.DoesNotExist:
        raise NotFoundError(f"No such transaction: {transaction_id}.", param="transaction") from None


def transfer_get(*, transfer_id: int | str, tenant: Tenant | None = None) -> Transfer:
    queryset = Transfer.objects.select_related(
        "from_account", "to_account", "transaction", "reversal_transaction"
    )
    if tenant is not None:
        queryset = tenant.scope(queryset)
    try:
        return queryset.get(**_lookup(transfer_id))
    except Transfer.DoesNotExist:
        raise NotFoundError(f"No such transfer: {transfer_id}.", param="transfer") from None


def transfer_list(
    *, tenant: Tenant, status: str | None = None, currency: str | None = None
) -> QuerySet[Transfer]:
    queryset = tenant.scope(Transfer.objects.all()).select_related(
        "from_account", "to_account", "transaction", "reversal_transaction"
    )
    if status:
        queryset = queryset.filter(status=status)
    if currency:
        queryset = queryset.filter(currency=currency.upper())
    return queryset.order_by("-pk")


def hold_get(*, hold_id: int | str) -> Hold:
    try:
        return Hold.objects.select_related("account").get(**_lookup(hold_id))
    except Hold.DoesNotExist:
        raise NotFoundError(f"No such hold: {hold_id}.", param="hold") from None


def entries_for_transactions(*, transaction_ids: Iterable[int]) -> QuerySet[Entry]:
    """The entries of some journal transactions (e.g. a payment's detail page in the admin)."""
    return Entry.objects.filter(transaction_id__in=list(transaction_ids)).select_related(
        "account", "transaction"
    )
