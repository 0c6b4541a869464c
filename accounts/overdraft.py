"""Overdraft on a merchant-owned account: an operator's decision, never the merchant's.

``allow_negative`` is shown by the API and never set through it (API.md). An operator allows or
withdraws it in the admin through ``account_overdraft_set``, which names the operator and the
reason in the audit log. Whatever the flag, such an account never funds an account a merchant
owns (``accounts.models.overdraft_is_credit``, enforced by the ledger's posting): its overdraft
can only be spent towards the platform.

The flag is copied onto the account's balance shards (their CHECK reads it). Withdrawing it from
an account whose shards took debits folds the shards into the account's base, so every shard is
back at or above zero; the posted balance and the entries do not change. An account below zero
keeps its overdraft until it is brought back to zero.
"""

from django.db.models import F

from accounts.errors import AccountOverdrawnError
from accounts.models import ZERO, LedgerAccount, LedgerBalanceShard, OwnerType
from accounts.services import account_shards_lock, ledger_atomic
from paysys.audit.context import ACTOR_OPERATOR
from paysys.audit.services import audit_record
from paysys.errors import InvalidRequestError, NotFoundError

REASON_MAX_LENGTH = 500


@ledger_atomic
def account_overdraft_set(
    *, account_id: int | str, allow_negative: bool, reason: str, operator_id: str
) -> LedgerAccount:
    """Allow (or withdraw) overdraft on a merchant-owned account; audited with the operator as actor.

    Refuses platform accounts (their overdraft carries the other side of every payment), an
    empty reason, and withdrawing overdraft from an account below zero.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequestError("An overdraft decision needs a reason.", param="reason")
    lookup = {"pk": account_id} if isinstance(account_id, int) else {"public_id": account_id}
    try:
        account = LedgerAccount.objects.select_for_update(no_key=True).get(**lookup)
    except LedgerAccount.DoesNotExist:
        raise NotFoundError(f"No such ledger account: {account_id}.", param="account") from None
    if account.owner_type == OwnerType.PLATFORM:
        raise InvalidRequestError(
            "The platform's accounts keep their overdraft: they carry the other side of every payment.",
            param="account",
        )
    # Waits for postings in flight on any shard; after this commits they see the new flag.
    shards = account_shards_lock(account.pk)
    if account.allow_negative == allow_negative:
        return account
    if not allow_negative:
        posted = account.posted_base + sum((s.amount for s in shards), ZERO)
        if posted - account.pending < 0:
            raise AccountOverdrawnError(
                f"Ledger account {account.public_id} is below zero; it keeps its overdraft until it is back at zero.",
                param="account",
            )
        folded = sum((s.amount for s in shards), ZERO)
        LedgerBalanceShard.objects.filter(account=account).update(amount=ZERO, allow_negative=False)
        LedgerAccount.objects.filter(pk=account.pk).update(posted_base=F("posted_base") + folded)
        account.refresh_from_db(fields=["posted_base"])
    else:
        LedgerBalanceShard.objects.filter(account=account).update(allow_negative=True)
    account.allow_negative = allow_negative
    account._change_reason = reason[:100]
    account.save(update_fields=["allow_negative", "updated"])
    audit_record(
        event_type="ledger.account.overdraft_allowed"
        if allow_negative
        else "ledger.account.overdraft_withdrawn",
        object_type="ledger_account",
        object_id=account.public_id,
        previous_state="overdraft" if not allow_negative else "no_overdraft",
        new_state="overdraft" if allow_negative else "no_overdraft",
        currency=account.currency,
        merchant_id=account.merchant_id or None,
        actor_type=ACTOR_OPERATOR,
        actor_id=operator_id,
        reason_code="operator_decision",
        metadata={
            "reason": reason[:REASON_MAX_LENGTH],
            "owner_type": account.owner_type,
            "kind": account.kind,
        },
    )
    return account
