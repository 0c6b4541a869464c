from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from moneyed import Money

from accounts.errors import HoldStateError
from accounts.models import Hold, HoldStatus
from accounts.selectors import account_balance_get
from accounts.services import hold_capture, hold_place, hold_release, holds_expire, ledger_verify
from paysys.errors import AccountFrozenError, InsufficientFundsError


def balance(account):
    return account_balance_get(account_id=account.pk)


def test_hold_reserves_available_funds_without_moving_them(wallet_factory):
    wallet = wallet_factory(funded="50.00")
    hold = hold_place(account_id=wallet.public_id, amount=Money("30", "EUR"), reference="h-1")
    assert hold.status == HoldStatus.HELD
    b = balance(wallet)
    assert (b.posted, b.pending, b.available) == (Money(50, "EUR"), Money(30, "EUR"), Money(20, "EUR"))


def test_hold_beyond_available_is_insufficient_funds(wallet_factory):
    wallet = wallet_factory(funded="50.00")
    hold_place(account_id=wallet.pk, amount=Money("30", "EUR"), reference="h-1")
    with pytest.raises(InsufficientFundsError):
        hold_place(account_id=wallet.pk, amount=Money("20.01", "EUR"), reference="h-2")


def test_held_funds_cannot_be_spent_by_a_posting(wallet_factory):
    from accounts.services import PostingLine, ledger_post

    wallet, other = wallet_factory(funded="50.00"), wallet_factory()
    hold_place(account_id=wallet.pk, amount=Money("45", "EUR"), reference="h-1")
    with pytest.raises(InsufficientFundsError):
        ledger_post(
            reference="spend",
            kind="transfer",
            lines=[PostingLine(wallet.pk, Money(-6, "EUR")), PostingLine(other.pk, Money(6, "EUR"))],
        )


def test_placing_a_hold_twice_with_one_reference_holds_once(wallet_factory):
    wallet = wallet_factory(funded="50.00")
    first = hold_place(account_id=wallet.pk, amount=Money("10", "EUR"), reference="h-1")
    second = hold_place(account_id=wallet.pk, amount=Money("10", "EUR"), reference="h-1")
    assert first.pk == second.pk
    assert balance(wallet).pending == Money(10, "EUR")


def test_partial_capture_posts_the_part_and_releases_the_rest(wallet_factory):
    wallet, merchant = wallet_factory(funded="50.00"), wallet_factory()
    hold = hold_place(account_id=wallet.pk, amount=Money("30", "EUR"), reference="h-1")
    captured = hold_capture(
        hold_id=hold.public_id, amount=Money("12.34", "EUR"), to_account_id=merchant.pk, reference="cap-1"
    )
    assert captured.status == HoldStatus.CAPTURED
    assert captured.captured_amount == Decimal("12.340")
    b = balance(wallet)
    assert (b.posted, b.pending, b.available) == (
        Money("37.66", "EUR"),
        Money(0, "EUR"),
        Money("37.66", "EUR"),
    )
    assert balance(merchant).posted == Money("12.34", "EUR")
    assert ledger_verify().ok


def test_full_capture_by_default_and_capture_is_idempotent(wallet_factory):
    wallet, merchant = wallet_factory(funded="50.00"), wallet_factory()
    hold = hold_place(account_id=wallet.pk, amount=Money("30", "EUR"), reference="h-1")
    hold_capture(hold_id=hold.pk, amount=None, to_account_id=merchant.pk, reference="cap-1")
    hold_capture(hold_id=hold.pk, amount=None, to_account_id=merchant.pk, reference="cap-1")
    assert balance(merchant).posted == Money(30, "EUR")
    assert balance(wallet).posted == Money(20, "EUR")


def test_capture_above_the_hold_is_refused(wallet_factory):
    wallet, merchant = wallet_factory(funded="50.00"), wallet_factory()
    hold = hold_place(account_id=wallet.pk, amount=Money("30", "EUR"), reference="h-1")
    with pytest.raises(Exception, match="at most the held amount"):
        hold_capture(
            hold_id=hold.pk, amount=Money("30.01", "EUR"), to_account_id=merchant.pk, reference="cap"
        )


def test_release_gives_the_funds_back_and_a_released_hold_cannot_be_captured(wallet_factory):
    wallet, merchant = wallet_factory(funded="50.00"), wallet_factory()
    hold = hold_place(account_id=wallet.pk, amount=Money("30", "EUR"), reference="h-1")
    hold_release(hold_id=hold.pk)
    assert balance(wallet).available == Money(50, "EUR")
    with pytest.raises(HoldStateError):
        hold_capture(hold_id=hold.pk, amount=None, to_account_id=merchant.pk, reference="cap")


def test_expired_holds_are_released_and_others_kept(wallet_factory):
    wallet = wallet_factory(funded="50.00")
    now = timezone.now()
    old = hold_place(
        account_id=wallet.pk, amount=Money(10, "EUR"), reference="old", expires_at=now - timedelta(1)
    )
    fresh = hold_place(
        account_id=wallet.pk, amount=Money(5, "EUR"), reference="new", expires_at=now + timedelta(1)
    )
    assert holds_expire(now=now) == 1
    assert Hold.objects.get(pk=old.pk).status == HoldStatus.EXPIRED
    assert Hold.objects.get(pk=fresh.pk).status == HoldStatus.HELD
    assert balance(wallet).pending == Money(5, "EUR")
    assert holds_expire(now=now) == 0


def test_a_frozen_account_keeps_its_holds_until_released_and_places_none(wallet_factory):
    from accounts.services import account_freeze

    wallet = wallet_factory(funded="50.00")
    hold = hold_place(account_id=wallet.pk, amount=Money("30", "EUR"), reference="h-1")
    account_freeze(account_id=wallet.pk, reason="test")
    with pytest.raises(AccountFrozenError):
        hold_place(account_id=wallet.pk, amount=Money("1", "EUR"), reference="h-2")
    # Giving held funds back moves no money: allowed on a frozen account.
    assert hold_release(hold_id=hold.pk).status == HoldStatus.RELEASED
    assert balance(wallet).pending == Money(0, "EUR")
    assert ledger_verify().ok
