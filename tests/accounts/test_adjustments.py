"""Maker-checker adjustments: a proposal posts nothing, only another operator's approval posts,
exactly once, through the ledger's posting function."""

import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connections, transaction
from moneyed import Money

from accounts.adjustments import adjustment_approve, adjustment_propose, adjustment_reject
from accounts.errors import AdjustmentOwnDecisionError, AdjustmentStateError, CurrencyMismatchError
from accounts.models import AccountKind, Adjustment, Entry, JournalTransaction, LedgerAccount
from accounts.selectors import account_balance_get
from accounts.services import account_freeze, platform_account_get
from paysys.audit.models import AuditEvent
from paysys.errors import AccountFrozenError, InsufficientFundsError, InvalidRequestError

EUR = "EUR"


def _operator(name: str):
    return get_user_model().objects.create_user(name, f"{name}@example.com", "unused", is_staff=True)


@pytest.fixture
def maker(db):
    return _operator("maker")


@pytest.fixture
def checker(db):
    return _operator("checker")


@pytest.fixture
def accounts(wallet_factory):
    """The platform's adjustments account and a customer wallet holding EUR 10.00."""
    return platform_account_get(kind=AccountKind.ADJUSTMENTS, currency=EUR), wallet_factory(funded="10.00")


def _propose(
    accounts, maker, *, debit=None, credit=None, amount="2.50", reason="ticket 88: fee charged twice"
):
    platform, wallet = accounts
    return adjustment_propose(
        debit_account_id=(debit or platform).pk,
        credit_account_id=(credit or wallet).pk,
        amount=Money(amount, EUR),
        reason=reason,
        operator_id=maker.pk,
    )


def _posted(account) -> Decimal:
    return account_balance_get(account_id=account.public_id, tenant=None).posted.amount


def _rows(adjustment):
    return list(AuditEvent.objects.filter(object_id=adjustment.public_id).order_by("id"))


@pytest.mark.django_db
def test_a_proposal_posts_nothing_and_is_audited_with_its_proposer(accounts, maker):
    journal_before = JournalTransaction.objects.count()
    adjustment = _propose(accounts, maker)
    adjustment.refresh_from_db()
    assert adjustment.status == "proposed"
    assert adjustment.amount == Money("2.50", EUR)
    assert adjustment.proposed_by_id == maker.pk and adjustment.decided_by_id is None
    assert JournalTransaction.objects.count() == journal_before
    [row] = _rows(adjustment)
    assert (row.event_type, row.actor_type, row.actor_id) == (
        "ledger.adjustment.proposed",
        "operator",
        str(maker.pk),
    )
    assert row.metadata["reason"] == "ticket 88: fee charged twice"
    assert adjustment.history.count() == 1


@pytest.mark.django_db
def test_approval_by_another_operator_posts_exactly_the_two_lines(accounts, maker, checker):
    platform, wallet = accounts
    wallet_before = _posted(wallet)
    adjustment = _propose(accounts, maker)
    approved = adjustment_approve(
        adjustment_id=adjustment.public_id, operator_id=checker.pk, reason="checked"
    )
    approved.refresh_from_db()
    assert approved.status == "approved" and approved.decided_by_id == checker.pk
    txn = approved.transaction
    assert (txn.kind, txn.reference) == ("adjustment", f"adjustment:{adjustment.public_id}")
    assert txn.metadata == {
        "adjustment": adjustment.public_id,
        "proposed_by": str(maker.pk),
        "approved_by": str(checker.pk),
    }
    lines = set(Entry.objects.filter(transaction=txn).values_list("account_id", "amount", "currency"))
    assert lines == {(platform.pk, Decimal("-2.500"), EUR), (wallet.pk, Decimal("2.500"), EUR)}
    assert _posted(wallet) == wallet_before + Decimal("2.50")
    proposed, posted, decided = (
        AuditEvent.objects.get(object_id=approved.public_id, event_type="ledger.adjustment.proposed"),
        AuditEvent.objects.get(object_id=txn.public_id, event_type="ledger.transaction.posted"),
        AuditEvent.objects.get(object_id=approved.public_id, event_type="ledger.adjustment.approved"),
    )
    assert (proposed.actor_id, posted.actor_id, decided.actor_id) == (
        str(maker.pk),
        str(checker.pk),
        str(checker.pk),
    )
    assert {posted.actor_type, decided.actor_type} == {"operator"}
    assert posted.metadata["reason"] == "checked"
    assert decided.metadata["proposed_by"] == str(maker.pk)
    assert decided.metadata["transaction"] == txn.public_id
    assert decided.previous_state == "proposed" and decided.new_state == "approved"


@pytest.mark.django_db
def test_rejection_posts_nothing_and_records_the_decision(accounts, maker, checker):
    _, wallet = accounts
    wallet_before = _posted(wallet)
    journal_before = JournalTransaction.objects.count()
    adjustment = _propose(accounts, maker)
    rejected = adjustment_reject(adjustment_id=adjustment.pk, operator_id=checker.pk, reason="no ticket")
    rejected.refresh_from_db()
    assert (rejected.status, rejected.transaction_id, rejected.decision_reason) == (
        "rejected",
        None,
        "no ticket",
    )
    assert JournalTransaction.objects.count() == journal_before
    assert _posted(wallet) == wallet_before
    decided = _rows(rejected)[-1]
    assert (decided.event_type, decided.actor_id) == ("ledger.adjustment.rejected", str(checker.pk))
    assert decided.metadata["proposed_by"] == str(maker.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("decide", [adjustment_approve, adjustment_reject])
def test_the_proposer_cannot_decide_their_own_adjustment(accounts, maker, decide):
    adjustment = _propose(accounts, maker)
    with pytest.raises(AdjustmentOwnDecisionError):
        decide(adjustment_id=adjustment.pk, operator_id=maker.pk, reason="looks fine to me")
    adjustment.refresh_from_db()
    assert adjustment.status == "proposed" and adjustment.transaction_id is None
    assert [row.event_type for row in _rows(adjustment)] == ["ledger.adjustment.proposed"]


@pytest.mark.django_db
def test_the_database_refuses_a_decider_who_is_the_proposer(accounts, maker, checker):
    adjustment = _propose(accounts, maker)
    adjustment_reject(adjustment_id=adjustment.pk, operator_id=checker.pk, reason="no")
    with (
        pytest.raises(IntegrityError, match="accounts_adjustment_decider_not_proposer"),
        transaction.atomic(),
    ):
        Adjustment.objects.filter(pk=adjustment.pk).update(decided_by=maker)


@pytest.mark.django_db
def test_the_database_refuses_an_approval_without_a_posting(accounts, maker, checker):
    adjustment = _propose(accounts, maker)
    adjustment_reject(adjustment_id=adjustment.pk, operator_id=checker.pk, reason="no")
    with (
        pytest.raises(IntegrityError, match="accounts_adjustment_decision_matches_status"),
        transaction.atomic(),
    ):
        Adjustment.objects.filter(pk=adjustment.pk).update(status="approved")


@pytest.mark.django_db
def test_an_adjustment_is_decided_once(accounts, maker, checker):
    adjustment = _propose(accounts, maker)
    adjustment_approve(adjustment_id=adjustment.pk, operator_id=checker.pk, reason="ok")
    third = _operator("third")
    for decide in (adjustment_approve, adjustment_reject):
        with pytest.raises(AdjustmentStateError, match="already approved"):
            decide(adjustment_id=adjustment.pk, operator_id=third.pk, reason="again")
    assert JournalTransaction.objects.filter(reference=f"adjustment:{adjustment.public_id}").count() == 1


@pytest.mark.django_db
def test_a_posting_the_ledger_refuses_leaves_the_adjustment_proposed(accounts, maker, checker):
    _, wallet = accounts
    frozen = _propose(accounts, maker)
    account_freeze(account_id=wallet.pk, reason="fraud check")
    with pytest.raises(AccountFrozenError):
        adjustment_approve(adjustment_id=frozen.pk, operator_id=checker.pk, reason="ok")
    frozen.refresh_from_db()
    assert (frozen.status, frozen.decided_by_id, frozen.transaction_id) == ("proposed", None, None)
    assert not AuditEvent.objects.filter(
        object_id=frozen.public_id, event_type="ledger.adjustment.approved"
    ).exists()


@pytest.mark.django_db
def test_an_adjustment_cannot_overdraw_the_debited_account(accounts, maker, checker):
    platform, wallet = accounts
    too_much = _propose(accounts, maker, debit=wallet, credit=platform, amount="10.01")
    with pytest.raises(InsufficientFundsError):
        adjustment_approve(adjustment_id=too_much.pk, operator_id=checker.pk, reason="ok")
    too_much.refresh_from_db()
    assert too_much.status == "proposed"
    assert _posted(wallet) == Decimal("10.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "error", "param"),
    [
        ({"amount": "0.00"}, InvalidRequestError, "amount"),
        ({"amount": "-1.00"}, InvalidRequestError, "amount"),
        ({"amount": "1.005"}, InvalidRequestError, "amount"),
        ({"reason": "   "}, InvalidRequestError, "reason"),
        ({"same_account": True}, InvalidRequestError, "credit_account"),
        ({"usd": True}, CurrencyMismatchError, "debit_account"),
    ],
)
def test_a_proposal_that_could_never_post_is_refused(accounts, maker, wallet_factory, change, error, param):
    _, wallet = accounts
    kwargs = {k: v for k, v in change.items() if k in {"amount", "reason"}}
    if change.get("same_account"):
        kwargs["debit"] = wallet
    if change.get("usd"):
        kwargs["debit"] = wallet_factory(currency="USD")
    with pytest.raises(error) as refused:
        _propose(accounts, maker, **kwargs)
    assert refused.value.param == param
    assert not Adjustment.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_two_approvers_at_once_post_once(accounts, maker):
    _, wallet = accounts
    adjustment = _propose(accounts, maker)
    approvers = [_operator("first"), _operator("second")]
    start = threading.Barrier(len(approvers))
    outcomes: list[object] = []

    def approve(operator) -> None:
        try:
            start.wait()
            adjustment_approve(adjustment_id=adjustment.pk, operator_id=operator.pk, reason="checked")
            outcomes.append("approved")
        except Exception as exc:  # the loser's refusal, asserted below
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(operator,)) for operator in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(type, outcomes), key=str) == sorted([str, AdjustmentStateError], key=str), outcomes
    adjustment.refresh_from_db()
    assert adjustment.status == "approved" and adjustment.decided_by_id in {a.pk for a in approvers}
    assert JournalTransaction.objects.filter(reference=f"adjustment:{adjustment.public_id}").count() == 1
    assert LedgerAccount.objects.get(pk=wallet.pk).entries.filter(transaction__kind="adjustment").count() == 1
    assert _posted(wallet) == Decimal("12.50")
