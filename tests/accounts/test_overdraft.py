"""Overdraft on a merchant-owned account: an operator's audited decision, and never a source of
money for an account a merchant owns, on every posting path."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from moneyed import Money

from accounts.errors import AccountOverdrawnError, OverdraftFundingError
from accounts.models import AccountKind, Entry, LedgerAccount, LedgerBalanceShard, OwnerType
from accounts.overdraft import account_overdraft_set
from accounts.selectors import account_get
from accounts.services import (
    PostingLine,
    hold_capture,
    hold_place,
    ledger_post,
    ledger_verify,
    merchant_accounts_open,
    platform_account_get,
    transfer_create,
)
from paysys.audit.models import AuditEvent
from paysys.errors import InvalidRequestError
from tests.accounts.conftest import MERCHANT, fund


def eur(value: str) -> Money:
    return Money(Decimal(value), "EUR")


@pytest.fixture
def overdraft_wallet(wallet_factory):
    """A wallet an operator allowed to go negative (the way the admin does it)."""
    wallet = wallet_factory(balance_shards=4)
    return account_overdraft_set(
        account_id=wallet.pk, allow_negative=True, reason="credit line", operator_id="7"
    )


def ledger_state():
    return (
        Entry.objects.count(),
        sorted(
            (a.pk, a.posted, a.pending)
            for a in (account_get(account_id=x.pk) for x in LedgerAccount.objects.all())
        ),
    )


def test_an_operator_allows_overdraft_through_the_service_audited_as_the_operator(wallet_factory):
    wallet = wallet_factory(balance_shards=3)
    account_overdraft_set(
        account_id=wallet.public_id, allow_negative=True, reason="VIP credit line", operator_id="42"
    )

    wallet.refresh_from_db()
    assert wallet.allow_negative
    assert set(
        LedgerBalanceShard.objects.filter(account=wallet).values_list("allow_negative", flat=True)
    ) == {True}
    row = AuditEvent.objects.get(event_type="ledger.account.overdraft_allowed", object_id=wallet.public_id)
    assert (row.actor_type, row.actor_id) == ("operator", "42")
    assert row.metadata["reason"] == "VIP credit line"
    assert (row.previous_state, row.new_state) == ("no_overdraft", "overdraft")
    assert wallet.history.first().history_change_reason == "VIP credit line"


def test_withdrawing_overdraft_folds_the_shards_and_keeps_the_balance(overdraft_wallet):
    fund(overdraft_wallet, Decimal("10.00"))
    fees = platform_account_get(kind=AccountKind.FEES, currency="EUR")
    # Debits of an overdraft account land on its shards: some go below zero.
    for n in range(6):
        ledger_post(
            reference=f"spend:{n}",
            kind="fee",
            lines=[PostingLine(overdraft_wallet.pk, eur("-1.00")), PostingLine(fees.pk, eur("1.00"))],
        )
    assert account_get(account_id=overdraft_wallet.pk).posted == Decimal("4.000")

    account_overdraft_set(
        account_id=overdraft_wallet.pk, allow_negative=False, reason="closed line", operator_id="7"
    )

    shards = LedgerBalanceShard.objects.filter(account=overdraft_wallet)
    assert {(s.amount, s.allow_negative) for s in shards} == {(Decimal("0.000"), False)}
    assert account_get(account_id=overdraft_wallet.pk).posted == Decimal("4.000")
    assert AuditEvent.objects.filter(event_type="ledger.account.overdraft_withdrawn").count() == 1
    assert ledger_verify().ok


def test_overdraft_is_not_withdrawn_from_an_account_below_zero(overdraft_wallet):
    fees = platform_account_get(kind=AccountKind.FEES, currency="EUR")
    ledger_post(
        reference="below",
        kind="fee",
        lines=[PostingLine(overdraft_wallet.pk, eur("-2.00")), PostingLine(fees.pk, eur("2.00"))],
    )
    with pytest.raises(AccountOverdrawnError):
        account_overdraft_set(
            account_id=overdraft_wallet.pk, allow_negative=False, reason="x", operator_id="7"
        )
    overdraft_wallet.refresh_from_db()
    assert overdraft_wallet.allow_negative


def test_platform_accounts_keep_their_overdraft_and_a_decision_needs_a_reason(wallet_factory):
    clearing = platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR")
    with pytest.raises(InvalidRequestError):
        account_overdraft_set(account_id=clearing.pk, allow_negative=False, reason="no", operator_id="7")
    with pytest.raises(InvalidRequestError) as exc:
        account_overdraft_set(
            account_id=wallet_factory().pk, allow_negative=True, reason="  ", operator_id="7"
        )
    assert exc.value.param == "reason"
    assert not AuditEvent.objects.filter(event_type__startswith="ledger.account.overdraft").exists()


@pytest.mark.parametrize("destination_kind", ["available", "wallet"])
def test_a_transfer_from_an_overdraft_wallet_to_a_merchant_owned_account_moves_nothing(
    overdraft_wallet, wallet_factory, destination_kind
):
    destination = (
        merchant_accounts_open(merchant_id=MERCHANT, currency="EUR")["available"]
        if destination_kind == "available"
        else wallet_factory()
    )
    before = ledger_state()
    with pytest.raises(OverdraftFundingError) as exc:
        transfer_create(
            merchant_id=MERCHANT,
            from_account_id=overdraft_wallet.public_id,
            to_account_id=destination.public_id,
            amount=eur("500.00"),
        )
    assert (exc.value.code, exc.value.param, exc.value.status_code) == (
        "overdraft_not_transferable",
        "from_account",
        400,
    )
    assert ledger_state() == before


@pytest.mark.parametrize("kind", [AccountKind.PENDING, AccountKind.AVAILABLE, AccountKind.RESERVE])
def test_no_posting_moves_overdraft_money_into_a_merchant_account(overdraft_wallet, kind):
    target = merchant_accounts_open(merchant_id=MERCHANT, currency="EUR")[kind]
    before = ledger_state()
    with pytest.raises(OverdraftFundingError):
        ledger_post(
            reference=f"mint:{kind}",
            kind="adjustment",
            lines=[PostingLine(overdraft_wallet.pk, eur("-100.00")), PostingLine(target.pk, eur("100.00"))],
        )
    assert ledger_state() == before


def test_a_hold_capture_from_an_overdraft_wallet_into_pending_is_refused(overdraft_wallet):
    """The wallet-payment path (hold, then capture into the merchant's pending) at the ledger
    itself, beneath the payment service's own early refusal."""
    pending = merchant_accounts_open(merchant_id=MERCHANT, currency="EUR")["pending"]
    hold = hold_place(account_id=overdraft_wallet.pk, amount=eur("50.00"), reference="hold:mint")
    before = ledger_state()
    with pytest.raises(OverdraftFundingError):
        hold_capture(hold_id=hold.pk, amount=None, to_account_id=pending.pk, reference="capture:mint")
    assert ledger_state() == before


def test_overdraft_may_still_pay_the_platform_and_platform_accounts_fund_merchants(overdraft_wallet):
    fees = platform_account_get(kind=AccountKind.FEES, currency="EUR")
    clearing = platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR")
    pending = merchant_accounts_open(merchant_id=MERCHANT, currency="EUR")["pending"]
    ledger_post(
        reference="fee:od",
        kind="fee",
        lines=[PostingLine(overdraft_wallet.pk, eur("-3.00")), PostingLine(fees.pk, eur("3.00"))],
    )
    ledger_post(
        reference="capture:card",
        kind="capture",
        lines=[PostingLine(clearing.pk, eur("-9.00")), PostingLine(pending.pk, eur("9.00"))],
    )
    assert account_get(account_id=overdraft_wallet.pk).posted == Decimal("-3.000")
    assert account_get(account_id=pending.pk).posted == Decimal("9.000")
    assert clearing.owner_type == OwnerType.PLATFORM and ledger_verify().ok


# --- the admin ------------------------------------------------------------------------------


def _changelist(admin_client, data):
    return admin_client.post(reverse("admin:accounts_ledgeraccount_changelist"), data)


def test_the_admin_action_asks_for_a_reason_then_calls_the_service(admin_client, admin_user, wallet_factory):
    wallet = wallet_factory()
    action = {"action": "allow_overdraft", "_selected_action": [wallet.pk]}

    form = _changelist(admin_client, action)
    assert form.status_code == 200 and b"reason" in form.content
    wallet.refresh_from_db()
    assert not wallet.allow_negative

    done = _changelist(admin_client, {**action, "confirm": "1", "reason": "approved by risk"})
    assert done.status_code == 302
    wallet.refresh_from_db()
    assert wallet.allow_negative
    row = AuditEvent.objects.get(event_type="ledger.account.overdraft_allowed")
    assert (row.actor_type, row.actor_id, row.metadata["reason"]) == (
        "operator",
        str(admin_user.pk),
        "approved by risk",
    )


def test_staff_without_the_overdraft_permission_do_not_get_the_action(client, wallet_factory):
    wallet = wallet_factory()
    staff = User.objects.create_user("support", password="pw-support-1", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_ledgeraccount"))
    client.force_login(staff)
    page = client.get(reverse("admin:accounts_ledgeraccount_changelist"))
    assert page.status_code == 200 and b"allow_overdraft" not in page.content
    client.post(
        reverse("admin:accounts_ledgeraccount_changelist"),
        {"action": "allow_overdraft", "_selected_action": [wallet.pk], "confirm": "1", "reason": "x"},
    )
    wallet.refresh_from_db()
    assert not wallet.allow_negative

    staff.user_permissions.add(Permission.objects.get(codename="set_overdraft"))
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    assert b"allow_overdraft" in client.get(reverse("admin:accounts_ledgeraccount_changelist")).content
