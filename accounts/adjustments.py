"""Manual ledger adjustments under maker-checker: one operator proposes, another decides.

``adjustment_propose`` records what a finance operator asks for (debit one account, credit
another, an amount and a reason); nothing moves. ``adjustment_approve``, by a different operator,
posts it through ``ledger_post`` (reference ``adjustment:<public id>``, kind ``adjustment``) and
marks it approved in the same database transaction; ``adjustment_reject`` closes it without
posting. The adjustment row is locked before its state is read, so of two operators deciding at
once one wins and the other gets ``AdjustmentStateError``; the unique posting reference backs
that up. A posting the ledger refuses (a frozen account, a debit the account cannot cover) rolls
the whole approval back: the adjustment stays proposed and the caller gets the ledger's error.

The proposer never decides their own adjustment: refused here (``AdjustmentOwnDecisionError``)
and by the ``accounts_adjustment_decider_not_proposer`` constraint. Proposal, decision and
posting each leave an audit row with the acting operator and the reason; the decision's and the
posting's rows name the proposer too.
"""

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from accounts.adjustment_models import REASON_MAX_LENGTH, Adjustment, AdjustmentStatus
from accounts.errors import (
    AdjustmentOwnDecisionError,
    AdjustmentStateError,
    CurrencyMismatchError,
    LivemodeMismatchError,
)
from accounts.models import LedgerAccount, TransactionKind
from accounts.services import PostingLine, ledger_atomic, ledger_post
from accounts.services.posting import amount_check
from paysys.audit.context import ACTOR_OPERATOR, actor_scope
from paysys.audit.services import audit_record
from paysys.errors import InvalidRequestError, NotFoundError

OBJECT_TYPE = "ledger_adjustment"
REASON_CODE = "manual_adjustment"


def _reason_clean(reason: str, *, param: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequestError("An adjustment and its decision each need a reason.", param=param)
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidRequestError(f"A reason has at most {REASON_MAX_LENGTH} characters.", param=param)
    return reason


def _account_get(account_id: int | str, *, param: str) -> LedgerAccount:
    lookup = {"pk": account_id} if isinstance(account_id, int) else {"public_id": account_id}
    try:
        return LedgerAccount.objects.get(**lookup)
    except LedgerAccount.DoesNotExist:
        raise NotFoundError(f"No such ledger account: {account_id}.", param=param) from None


def adjustment_check(
    *, debit_account_id: int | str, credit_account_id: int | str, amount: Money, reason: str
) -> tuple[LedgerAccount, LedgerAccount, str]:
    """Refuse a proposal that could never post: the accounts and the cleaned reason.

    Two distinct accounts of the amount's currency and one mode, a positive amount exact in its
    currency. Whether the debited account can cover it, and its status, are the ledger's to say
    when the adjustment is approved.
    """
    reason = _reason_clean(reason)
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise InvalidRequestError("An adjustment moves a positive amount.", param="amount")
    currency = amount_check(amount)
    debit = _account_get(debit_account_id, param="debit_account")
    credit = _account_get(credit_account_id, param="credit_account")
    if debit.pk == credit.pk:
        raise InvalidRequestError(
            "An adjustment moves money between two different accounts.", param="credit_account"
        )
    for account, param in ((debit, "debit_account"), (credit, "credit_account")):
        if account.currency != currency:
            raise CurrencyMismatchError(
                f"Ledger account {account.public_id} is in {account.currency}, the amount in {currency}.",
                param=param,
            )
    if debit.livemode != credit.livemode:
        raise LivemodeMismatchError("Test money never meets live money.", param="credit_account")
    return debit, credit, reason


@transaction.atomic
def adjustment_propose(
    *, debit_account_id: int | str, credit_account_id: int | str, amount: Money, reason: str, operator_id: int
) -> Adjustment:
    """Record a proposed adjustment (nothing posts) and its audit row, the proposer as actor."""
    debit, credit, reason = adjustment_check(
        debit_account_id=debit_account_id, credit_account_id=credit_account_id, amount=amount, reason=reason
    )
    adjustment = Adjustment(
        debit_account=debit, credit_account=credit, amount=amount, reason=reason, proposed_by_id=operator_id
    )
    adjustment._change_reason = reason[:100]
    adjustment.save()
    _audit(
        adjustment, "ledger.adjustment.proposed", operator_id=operator_id, reason=reason, previous_state=None
    )
    return adjustment


@ledger_atomic
def adjustment_approve(*, adjustment_id: int | str, operator_id: int, reason: str) -> Adjustment:
    """Post a proposed adjustment as a second operator: exactly its two lines, once."""
    reason = _reason_clean(reason)
    adjustment = _decidable_lock(adjustment_id, operator_id=operator_id)
    amount = adjustment.amount
    with actor_scope(actor_type=ACTOR_OPERATOR, actor_id=str(operator_id), reason=reason):
        posting = ledger_post(
            reference=f"adjustment:{adjustment.public_id}",
            kind=TransactionKind.ADJUSTMENT,
            lines=[
                PostingLine(account_id=adjustment.debit_account_id, amount=-amount),
                PostingLine(account_id=adjustment.credit_account_id, amount=amount),
            ],
            description=adjustment.reason[:500],
            metadata={
                "adjustment": adjustment.public_id,
                "proposed_by": str(adjustment.proposed_by_id),
                "approved_by": str(operator_id),
            },
            merchant_id=_merchant_id(adjustment),
            reason_code=REASON_CODE,
        )
    adjustment.transaction = posting.transaction
    return _decide(adjustment, AdjustmentStatus.APPROVED, operator_id=operator_id, reason=reason)


@transaction.atomic
def adjustment_reject(*, adjustment_id: int | str, operator_id: int, reason: str) -> Adjustment:
    """Close a proposed adjustment without posting, as a second operator."""
    reason = _reason_clean(reason)
    adjustment = _decidable_lock(adjustment_id, operator_id=operator_id)
    return _decide(adjustment, AdjustmentStatus.REJECTED, operator_id=operator_id, reason=reason)


def adjustment_lock(adjustment_id: int | str) -> Adjustment:
    """The adjustment, locked ``FOR UPDATE`` (the business row first, then the ledger's)."""
    lookup = {"pk": adjustment_id} if isinstance(adjustment_id, int) else {"public_id": adjustment_id}
    try:
        return (
            Adjustment.objects.select_for_update(of=("self",))
            .select_related("debit_account", "credit_account")
            .get(**lookup)
        )
    except Adjustment.DoesNotExist:
        raise NotFoundError(f"No such adjustment: {adjustment_id}.", param="adjustment") from None


def _decidable_lock(adjustment_id: int | str, *, operator_id: int) -> Adjustment:
    adjustment = adjustment_lock(adjustment_id)
    if adjustment.status != AdjustmentStatus.PROPOSED:
        raise AdjustmentStateError(
            f"Adjustment {adjustment.public_id} is already {adjustment.status}.", param="adjustment"
        )
    if adjustment.proposed_by_id == operator_id:
        raise AdjustmentOwnDecisionError(
            f"Adjustment {adjustment.public_id}: another operator must approve or reject your proposal.",
            param="adjustment",
        )
    return adjustment


def _decide(adjustment: Adjustment, status: str, *, operator_id: int, reason: str) -> Adjustment:
    adjustment.status = status
    adjustment.decided_by_id = operator_id
    adjustment.decided_at = timezone.now()
    adjustment.decision_reason = reason
    adjustment._change_reason = reason[:100]
    adjustment.save(
        update_fields=["status", "decided_by", "decided_at", "decision_reason", "transaction", "updated"]
    )
    _audit(
        adjustment,
        f"ledger.adjustment.{status}",
        operator_id=operator_id,
        reason=reason,
        previous_state=AdjustmentStatus.PROPOSED,
    )
    return adjustment


def _merchant_id(adjustment: Adjustment) -> str:
    """The merchant both accounts belong to (a platform account belongs to none), else empty."""
    merchants = {adjustment.debit_account.merchant_id, adjustment.credit_account.merchant_id} - {""}
    return merchants.pop() if len(merchants) == 1 else ""


def _audit(
    adjustment: Adjustment, event_type: str, *, operator_id: int, reason: str, previous_state: str | None
) -> None:
    metadata = {
        "reason": reason,
        "proposed_by": str(adjustment.proposed_by_id),
        "debit_account": adjustment.debit_account.public_id,
        "credit_account": adjustment.credit_account.public_id,
    }
    if adjustment.decided_by_id is not None:
        metadata["decided_by"] = str(adjustment.decided_by_id)
        metadata["proposal_reason"] = adjustment.reason
    if adjustment.transaction_id is not None:
        metadata["transaction"] = adjustment.transaction.public_id
    audit_record(
        event_type=event_type,
        object_type=OBJECT_TYPE,
        object_id=adjustment.public_id,
        actor_type=ACTOR_OPERATOR,
        actor_id=str(operator_id),
        previous_state=previous_state,
        new_state=adjustment.status,
        amount=adjustment.amount,
        merchant_id=_merchant_id(adjustment) or None,
        reason_code=REASON_CODE,
        metadata=metadata,
    )
