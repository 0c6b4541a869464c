"""Ledger accounts: open them (a customer wallet, a merchant's or the platform's chart of
accounts), and freeze, unfreeze or close them.

Freezing or closing an account locks the account and then every balance shard, so a posting in
flight on a shard commits first and a later one reads the new status (``posting.py``).
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts import ledger_sql
from accounts.errors import AccountNotEmptyError
from accounts.models import (
    KINDS_BY_OWNER,
    MERCHANT_KINDS,
    ZERO,
    AccountStatus,
    LedgerAccount,
    LedgerBalanceShard,
    OwnerType,
)
from accounts.services.posting import account_shards_lock
from accounts.services.unit_of_work import ledger_atomic
from paysys.audit.services import audit_record
from paysys.errors import AccountClosedError, AccountFrozenError, InvalidRequestError, NotFoundError
from paysys.money import currency_is_accepted


def status_check(status: str, public_or_pk: object) -> None:
    """Refuse a frozen or closed account (the database function refuses postings likewise)."""
    if status == AccountStatus.FROZEN:
        raise AccountFrozenError(f"Ledger account {public_or_pk} is frozen.", param="account")
    if status == AccountStatus.CLOSED:
        raise AccountClosedError(f"Ledger account {public_or_pk} is closed.", param="account")


def _account_lookup(account_id: int | str) -> dict[str, Any]:
    return {"pk": account_id} if isinstance(account_id, int) else {"public_id": account_id}


def _shards_default() -> int:
    return settings.LEDGER_BALANCE_SHARDS


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
    # Checked before the block: a refused request leaves a caller's transaction usable.
    with transaction.atomic(savepoint=False):
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


def _account_get_or_create(
    *, owner_type: str, merchant_id: str, kind: str, currency: str, allow_negative: bool, livemode: bool
) -> LedgerAccount:
    code = currency.upper()
    account = ledger_sql.account_of_kind(merchant_id=merchant_id, kind=kind, currency=code, livemode=livemode)
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
    account = ledger_sql.account_of_kind(
        merchant_id=merchant_id, kind=kind, currency=currency.upper(), livemode=livemode
    )
    return (
        account or merchant_accounts_open(merchant_id=merchant_id, currency=currency, livemode=livemode)[kind]
    )


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
        status_check(account.status, account.public_id)
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
