from decimal import Decimal

import pytest
from moneyed import Money

from accounts.models import AccountKind, Entry, LedgerAccount
from accounts.selectors import account_balance_get
from payments.models import Payment, ProcessorOperation
from payments.services import (
    payment_cancel,
    payment_capture,
    payment_confirm,
    payment_create,
    payment_method_create,
    payment_review_approve,
    payment_review_decline,
    payments_expire_authorizations,
    payments_resolve_processing,
)
from paysys.audit.models import AuditEvent
from paysys.errors import CardError, InvalidRequestError, NotFoundError
from paysys.events.models import Event
from tests.payments.conftest import assert_ledger_ok, card, wallet_for

EUR = "EUR"


def eur(value: str) -> Money:
    return Money(value, EUR)


def balance(merchant, kind, currency=EUR):
    account = LedgerAccount.objects.get(
        merchant_id=merchant.public_id, kind=kind, currency=currency, livemode=False
    )
    return account_balance_get(account_id=account.pk).posted.amount


def platform_balance(kind, currency=EUR):
    account = LedgerAccount.objects.get(merchant_id="", kind=kind, currency=currency, livemode=False)
    return account_balance_get(account_id=account.pk).posted.amount


def test_automatic_card_payment_captures_books_fee_and_emits_events(merchant):
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    assert payment.status == "succeeded"
    assert payment.amount_captured == eur("10.00")
    # 2.9 % of 10.00 + 0.30 = 0.59
    assert payment.fee == eur("0.59")
    assert payment.net == eur("9.41")
    assert balance(merchant, AccountKind.PENDING) == Decimal("9.41")
    assert platform_balance(AccountKind.FEES) == Decimal("0.59")
    types = list(
        Event.objects.filter(object_id=payment.public_id).order_by("pk").values_list("type", flat=True)
    )
    assert types == [
        "payment.created",
        "payment.authorized",
        "payment.processing",
        "payment.captured",
        "payment.succeeded",
    ]
    assert AuditEvent.objects.filter(object_id=payment.public_id, new_state="succeeded").exists()
    assert_ledger_ok()


def test_manual_capture_partial_releases_the_rest(merchant):
    payment = payment_create(merchant=merchant, amount=eur("50.00"), card=card(), capture_method="manual")
    assert payment.status == "requires_capture"
    assert payment.amount_capturable == eur("50.00")
    assert not Entry.objects.filter(transaction__reference=f"capture:{payment.public_id}").exists()
    captured = payment_capture(payment=payment, amount=eur("20.00"))
    assert captured.status == "succeeded"
    assert (captured.amount_captured, captured.amount_capturable) == (eur("20.00"), eur("0"))
    assert captured.fee == eur("0.88")  # 0.58 + 0.30
    assert_ledger_ok()


def test_capture_above_the_authorized_amount_is_rejected(merchant):
    payment = payment_create(merchant=merchant, amount=eur("5.00"), card=card(), capture_method="manual")
    with pytest.raises(InvalidRequestError) as info:
        payment_capture(payment=payment, amount=eur("5.01"))
    assert info.value.code == "amount_too_large"


def test_decline_fails_the_payment_and_raises_card_error_with_its_id(merchant):
    with pytest.raises(CardError) as info:
        payment_create(merchant=merchant, amount=eur("10.00"), card=card("4000000000009995"))
    payment = Payment.objects.get(public_id=info.value.extra["payment"])
    assert info.value.extra["decline_code"] == "insufficient_funds"
    assert payment.status == "failed" and payment.failure_code == "insufficient_funds"
    assert Event.objects.filter(object_id=payment.public_id, type="payment.failed").exists()


def test_action_card_waits_for_the_challenge_then_captures(merchant):
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card("4000000000003220"))
    assert payment.status == "requires_action"
    done = payment_confirm(payment=payment, challenge_passed=True)
    assert done.status == "succeeded"


def test_failed_challenge_fails_the_payment(merchant):
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card("4000000000003220"))
    with pytest.raises(CardError) as info:
        payment_confirm(payment=payment, challenge_passed=False)
    assert info.value.extra["decline_code"] == "authentication_failed"


def test_risky_card_waits_in_review_and_approval_captures(merchant):
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card("4100000000000019"))
    assert payment.status == "requires_review"
    assert Event.objects.filter(object_id=payment.public_id, type="payment.requires_review").exists()
    approved = payment_review_approve(payment_id=payment.public_id, operator_id="7")
    assert approved.status == "succeeded"
    assert_ledger_ok()


def test_review_decline_voids_the_authorization(merchant):
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card("4100000000000019"))
    declined = payment_review_decline(payment_id=payment.public_id, operator_id="7")
    assert declined.status == "canceled" and declined.cancellation_reason == "fraudulent"


def test_cancel_voids_an_uncaptured_payment(merchant):
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card(), capture_method="manual")
    canceled = payment_cancel(payment=payment)
    assert canceled.status == "canceled" and canceled.amount_capturable == eur("0")
    assert ProcessorOperation.objects.filter(payment=payment, kind="void", status="succeeded").exists()


def test_saved_payment_method_is_reusable(merchant):
    pm = payment_method_create(merchant=merchant, card=card())
    first = payment_create(merchant=merchant, amount=eur("1.00"), payment_method_id=pm.public_id)
    second = payment_create(merchant=merchant, amount=eur("2.00"), payment_method_id=pm.public_id)
    assert first.payment_method_id == second.payment_method_id == pm.pk


def test_wallet_payment_holds_then_captures_into_pending(merchant):
    wallet = wallet_for(merchant, amount=Decimal("100.00"))
    funded = account_balance_get(account_id=wallet.pk).posted.amount  # the top-up's net
    payment = payment_create(
        merchant=merchant, amount=eur("40.00"), source_account_id=wallet.public_id, capture_method="manual"
    )
    assert payment.status == "requires_capture"
    assert account_balance_get(account_id=wallet.pk).available.amount == funded - Decimal("40.00")
    captured = payment_capture(payment=payment, amount=eur("30.00"))
    assert captured.status == "succeeded"
    wallet_balance = account_balance_get(account_id=wallet.pk)
    assert (wallet_balance.posted.amount, wallet_balance.available.amount) == (
        funded - Decimal("30.00"),
        funded - Decimal("30.00"),
    )
    assert balance(merchant, AccountKind.PENDING) == Decimal("30.00") - captured.fee.amount
    assert_ledger_ok()


def test_wallet_payment_cancel_releases_the_hold(merchant):
    wallet = wallet_for(merchant, amount=Decimal("10.00"))
    funded = account_balance_get(account_id=wallet.pk).available.amount
    payment = payment_create(
        merchant=merchant, amount=eur("9.00"), source_account_id=wallet.public_id, capture_method="manual"
    )
    assert account_balance_get(account_id=wallet.pk).available.amount == funded - Decimal("9.00")
    payment_cancel(payment=payment)
    assert account_balance_get(account_id=wallet.pk).available.amount == funded


def test_split_payment_books_transfers_to_connected_merchants(merchant_factory):
    from payments.services import TransferRequest

    platform = merchant_factory(name="Marketplace")
    seller = merchant_factory(name="Seller", platform=platform)
    payment = payment_create(
        merchant=platform,
        amount=eur("100.00"),
        card=card(),
        transfers=[TransferRequest(destination=seller.public_id, amount=eur("70.00"))],
    )
    assert payment.status == "succeeded"
    assert balance(seller, AccountKind.PENDING) == Decimal("70.00")
    assert balance(platform, AccountKind.PENDING) == Decimal("100.00") - Decimal("70.00") - payment.fee.amount
    assert_ledger_ok()


@pytest.mark.parametrize("destination", ["unconnected", "unknown", "itself"])
def test_split_to_a_merchant_not_connected_is_as_unknown_and_books_nothing(merchant_factory, destination):
    from payments.services import TransferRequest

    platform = merchant_factory(name="Marketplace")
    ids = {
        "unconnected": merchant_factory(name="Stranger").public_id,
        "unknown": "mer_doesnotexist",
        "itself": platform.public_id,
    }
    with pytest.raises(NotFoundError) as info:
        payment_create(
            merchant=platform,
            amount=eur("100.00"),
            card=card(),
            transfers=[TransferRequest(destination=ids[destination], amount=eur("10.00"))],
        )
    assert info.value.param == "transfer_data[0][destination]"
    assert info.value.message == f"No such connected merchant: '{ids[destination]}'"
    assert not Payment.objects.exists()
    assert Entry.objects.count() == 0


def test_split_to_a_suspended_connected_merchant_is_refused(merchant_factory):
    from merchants.services import merchant_suspend
    from payments.services import TransferRequest

    platform = merchant_factory(name="Marketplace")
    seller = merchant_factory(name="Seller", platform=platform)
    merchant_suspend(merchant_id=seller.public_id)
    with pytest.raises(InvalidRequestError) as info:
        payment_create(
            merchant=platform,
            amount=eur("100.00"),
            card=card(),
            transfers=[TransferRequest(destination=seller.public_id, amount=eur("10.00"))],
        )
    assert info.value.code == "invalid_destination"
    assert not Payment.objects.exists()


def test_merchant_max_amount_is_enforced(merchant):
    from merchants.models import MerchantLimit

    MerchantLimit.objects.create(
        merchant=merchant,
        currency="EUR",
        max_payment=Money("10.00", "EUR"),
        daily_volume=Money("15.00", "EUR"),
    )
    with pytest.raises(InvalidRequestError) as info:
        payment_create(merchant=merchant, amount=eur("10.01"), card=card())
    assert info.value.code == "amount_over_limit"
    payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    with pytest.raises(InvalidRequestError) as info:
        payment_create(merchant=merchant, amount=eur("5.01"), card=card())
    assert info.value.code == "daily_volume_exceeded"


def test_timeout_leaves_processing_and_the_resolver_asks_again(merchant, settings):
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    assert payment.status == "processing"
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    from datetime import timedelta

    counts = payments_resolve_processing(min_age=timedelta(0))
    assert counts["resolved"] == 1
    payment.refresh_from_db()
    # The authorization went through at the network: it is applied, then captured automatically.
    assert payment.status == "succeeded"
    assert_ledger_ok()


def test_resolver_leaves_the_payment_processing_while_the_processor_cannot_answer(merchant, settings):
    from datetime import timedelta

    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    counts = payments_resolve_processing(min_age=timedelta(0))
    assert counts == {"resolved": 0, "not_sent": 0, "unknown": 1, "captured": 0}
    payment.refresh_from_db()
    assert payment.status == "processing"


def test_open_breaker_fails_the_payment_without_sending(merchant, settings):
    from payments.processor import breaker

    settings.PAYSYS_PROCESSOR_BREAKER_THRESHOLD = 1
    breaker.record_failure()
    with pytest.raises(CardError) as info:
        payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    payment = Payment.objects.get(public_id=info.value.extra["payment"])
    assert payment.status == "failed" and payment.failure_code == "processing_error"


def test_expired_authorizations_are_voided(merchant):
    from datetime import timedelta

    from django.utils import timezone

    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card(), capture_method="manual")
    assert payments_expire_authorizations(now=timezone.now()) == 0
    assert payments_expire_authorizations(now=timezone.now() + timedelta(days=7, seconds=1)) == 1
    payment.refresh_from_db()
    assert payment.status == "canceled" and payment.cancellation_reason == "expired"


def test_lost_capture_answer_is_resolved_into_the_booked_capture(merchant, settings):
    from datetime import timedelta

    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card(), capture_method="manual")
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    pending = payment_capture(payment=payment, amount=eur("6.00"))
    assert pending.status == "processing" and pending.amount_captured == eur("0")
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    assert payments_resolve_processing(min_age=timedelta(0))["resolved"] == 1
    payment.refresh_from_db()
    assert (payment.status, payment.amount_captured) == ("succeeded", eur("6.00"))
    assert_ledger_ok()


def test_operation_the_processor_never_received_is_concluded_not_done(merchant, settings):
    """Only the processor saying it does not know the reference lets paysys fail the payment."""
    from datetime import timedelta

    from django.core.cache import cache

    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    op = ProcessorOperation.objects.get(payment=payment, kind="authorize")
    cache.delete(f"paysys:sim:op:{op.reference}")  # the request was lost on its way
    counts = payments_resolve_processing(min_age=timedelta(0))
    assert counts["not_sent"] == 1
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("failed", "processing_error")


def test_while_the_breaker_is_open_the_resolver_leaves_an_operation_pending(merchant, settings):
    """An open breaker refuses the question: the processor said nothing, never "not received"."""
    from datetime import timedelta

    from payments.processor import breaker

    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    settings.PAYSYS_PROCESSOR_BREAKER_THRESHOLD = 1
    breaker.record_failure()
    assert breaker.state() == "open"
    counts = payments_resolve_processing(min_age=timedelta(0))
    assert counts == {"resolved": 0, "not_sent": 0, "unknown": 1, "captured": 0}
    op = ProcessorOperation.objects.get(payment=payment, kind="authorize")
    payment.refresh_from_db()
    assert (op.status, payment.status) == ("pending", "processing")
    # Once it can be asked, the processor's answer (it authorized) is applied.
    breaker.reset()
    assert payments_resolve_processing(min_age=timedelta(0))["resolved"] == 1
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert_ledger_ok()


def test_resolver_skips_operations_younger_than_its_minimum_age(merchant, settings):
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    assert payments_resolve_processing()["resolved"] == 0  # its own request may still be waiting


def test_celery_tasks_wrap_the_services(merchant):
    from payments.tasks import payments_expire_authorizations_task, payments_resolve_processing_task

    assert payments_resolve_processing_task.name == "paysys.payments.payments_resolve_processing"
    assert payments_resolve_processing_task() == {"resolved": 0, "not_sent": 0, "unknown": 0, "captured": 0}
    assert payments_expire_authorizations_task() == 0
