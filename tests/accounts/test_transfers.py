from decimal import Decimal

import pytest
from moneyed import Money

from accounts.errors import CurrencyMismatchError, TransferReversedError
from accounts.models import Entry, JournalTransaction, TransferStatus
from accounts.selectors import account_get
from accounts.services import account_freeze, transfer_create, transfer_reverse
from paysys.audit.models import AuditEvent
from paysys.errors import AccountFrozenError, InsufficientFundsError, InvalidRequestError, NotFoundError
from paysys.events.models import Event
from tests.accounts.conftest import MERCHANT

OTHER_MERCHANT = "mer_ledgertests000000000002"


def posted(account) -> Decimal:
    return account_get(account_id=account.pk).posted


def test_transfer_moves_money_and_emits_transfer_created(wallet_factory):
    a, b = wallet_factory(funded="20.00"), wallet_factory()
    transfer = transfer_create(
        merchant_id=MERCHANT,
        from_account_id=a.public_id,
        to_account_id=b.public_id,
        amount=Money("7.50", "EUR"),
        description="rent",
        metadata={"order": "42"},
    )
    assert transfer.public_id.startswith("tr_")
    assert transfer.status == TransferStatus.POSTED
    assert (posted(a), posted(b)) == (Decimal("12.500"), Decimal("7.500"))
    event = Event.objects.get(type="transfer.created")
    assert event.data["object"]["id"] == transfer.public_id
    assert event.data["object"]["amount"] == 750
    assert event.data["object"]["currency"] == "eur"
    assert AuditEvent.objects.filter(event_type="transfer.created", object_id=transfer.public_id).exists()


def test_transfer_with_a_reference_is_made_once(wallet_factory):
    a, b = wallet_factory(funded="20.00"), wallet_factory()
    kwargs = dict(
        merchant_id=MERCHANT,
        from_account_id=a.public_id,
        to_account_id=b.public_id,
        amount=Money("5", "EUR"),
        reference="order-1",
    )
    first, second = transfer_create(**kwargs), transfer_create(**kwargs)
    assert first.public_id == second.public_id
    assert posted(b) == Decimal("5.000")


def test_transfer_beyond_the_balance_is_insufficient_funds(wallet_factory):
    a, b = wallet_factory(funded="1.00"), wallet_factory()
    with pytest.raises(InsufficientFundsError):
        transfer_create(
            merchant_id=MERCHANT,
            from_account_id=a.public_id,
            to_account_id=b.public_id,
            amount=Money("1.01", "EUR"),
        )
    assert not JournalTransaction.objects.filter(kind="transfer").exists()


def test_transfer_from_another_merchants_account_is_not_found(wallet_factory):
    mine, theirs = wallet_factory(), wallet_factory(merchant_id=OTHER_MERCHANT, funded="9.00")
    with pytest.raises(NotFoundError) as exc:
        transfer_create(
            merchant_id=MERCHANT,
            from_account_id=theirs.public_id,
            to_account_id=mine.public_id,
            amount=Money(1, "EUR"),
        )
    assert exc.value.param == "from_account"


def test_transfer_in_another_currency_than_the_accounts_is_refused(wallet_factory):
    a, b = wallet_factory(funded="5.00"), wallet_factory()
    with pytest.raises(CurrencyMismatchError):
        transfer_create(
            merchant_id=MERCHANT,
            from_account_id=a.public_id,
            to_account_id=b.public_id,
            amount=Money(1, "USD"),
        )


def test_transfer_to_the_same_account_is_refused(wallet_factory):
    a = wallet_factory(funded="5.00")
    with pytest.raises(InvalidRequestError):
        transfer_create(
            merchant_id=MERCHANT, from_account_id=a.pk, to_account_id=a.pk, amount=Money(1, "EUR")
        )


def test_transfer_to_a_frozen_account_is_refused(wallet_factory):
    a, b = wallet_factory(funded="5.00"), wallet_factory()
    account_freeze(account_id=b.public_id, reason="fraud_review")
    with pytest.raises(AccountFrozenError) as exc:
        transfer_create(
            merchant_id=MERCHANT,
            from_account_id=a.public_id,
            to_account_id=b.public_id,
            amount=Money(1, "EUR"),
        )
    assert exc.value.status_code == 409
    assert posted(a) == Decimal("5.000")


def test_reversal_is_a_new_transaction_and_leaves_the_original_untouched(wallet_factory):
    a, b = wallet_factory(funded="10.00"), wallet_factory()
    transfer = transfer_create(
        merchant_id=MERCHANT, from_account_id=a.public_id, to_account_id=b.public_id, amount=Money(4, "EUR")
    )
    original_entries = list(
        Entry.objects.filter(transaction=transfer.transaction).values("account_id", "amount")
    )
    reversed_transfer = transfer_reverse(merchant_id=MERCHANT, transfer_id=transfer.public_id)
    assert reversed_transfer.status == TransferStatus.REVERSED
    reversal = reversed_transfer.reversal_transaction
    assert reversal.kind == "reversal"
    assert reversal.reverses_id == transfer.transaction_id
    assert (
        list(Entry.objects.filter(transaction=transfer.transaction).values("account_id", "amount"))
        == original_entries
    )
    assert sorted(Entry.objects.filter(transaction=reversal).values_list("amount", flat=True)) == [
        Decimal("-4.000"),
        Decimal("4.000"),
    ]
    assert (posted(a), posted(b)) == (Decimal("10.000"), Decimal("0.000"))
    assert Event.objects.filter(type="transfer.reversed").count() == 1


def test_a_transfer_is_reversed_once(wallet_factory):
    a, b = wallet_factory(funded="10.00"), wallet_factory()
    transfer = transfer_create(
        merchant_id=MERCHANT, from_account_id=a.public_id, to_account_id=b.public_id, amount=Money(4, "EUR")
    )
    transfer_reverse(merchant_id=MERCHANT, transfer_id=transfer.public_id)
    with pytest.raises(TransferReversedError):
        transfer_reverse(merchant_id=MERCHANT, transfer_id=transfer.public_id)


def test_reversal_needs_the_destination_to_still_hold_the_money(wallet_factory):
    a, b, c = wallet_factory(funded="10.00"), wallet_factory(), wallet_factory()
    transfer = transfer_create(
        merchant_id=MERCHANT, from_account_id=a.public_id, to_account_id=b.public_id, amount=Money(4, "EUR")
    )
    transfer_create(
        merchant_id=MERCHANT, from_account_id=b.public_id, to_account_id=c.public_id, amount=Money(3, "EUR")
    )
    with pytest.raises(InsufficientFundsError):
        transfer_reverse(merchant_id=MERCHANT, transfer_id=transfer.public_id)


def test_another_merchant_cannot_reverse_a_transfer(wallet_factory):
    a, b = wallet_factory(funded="10.00"), wallet_factory()
    transfer = transfer_create(
        merchant_id=MERCHANT, from_account_id=a.public_id, to_account_id=b.public_id, amount=Money(4, "EUR")
    )
    with pytest.raises(NotFoundError):
        transfer_reverse(merchant_id=OTHER_MERCHANT, transfer_id=transfer.public_id)
