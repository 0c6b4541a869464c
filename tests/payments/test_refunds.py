import threading
from decimal import Decimal

import pytest
from django.db import connection
from moneyed import Money

from accounts.models import AccountKind, LedgerAccount
from accounts.selectors import account_balance_get
from payments.models import Payment, Refund
from payments.services import payment_create, refund_create
from paysys.errors import InvalidRequestError
from paysys.events.models import Event
from tests.payments.conftest import assert_ledger_ok, card, wallet_for

EUR = "EUR"
THREADS = 20


def eur(value: str) -> Money:
    return Money(value, EUR)


def posted(merchant_id: str, kind: str) -> Decimal:
    account = LedgerAccount.objects.get(merchant_id=merchant_id, kind=kind, currency=EUR, livemode=False)
    return account_balance_get(account_id=account.pk).posted.amount


def test_partial_and_multiple_refunds_add_up_and_emit_events(merchant_factory):
    merchant = merchant_factory(bps=0, fixed=0)
    payment = payment_create(merchant=merchant, amount=eur("30.00"), card=card())
    refund_create(payment=payment, amount=eur("10.00"), reason="requested_by_customer")
    refund_create(payment=payment, amount=eur("5.00"))
    last = refund_create(payment=payment)
    assert last.amount == eur("15.00")
    payment.refresh_from_db()
    assert payment.amount_refunded == eur("30.00") and payment.refunded
    assert posted(merchant.public_id, AccountKind.PENDING) == 0
    assert Event.objects.filter(type="refund.succeeded").count() == 3
    with pytest.raises(InvalidRequestError) as info:
        refund_create(payment=payment, amount=eur("0.01"))
    assert info.value.code == "amount_too_large"
    assert_ledger_ok()


def test_refund_debits_available_then_pending_then_reserve(merchant_factory):
    """The documented order, when the merchant's money sits in several accounts."""
    from accounts.services import PostingLine, ledger_post, merchant_accounts_open

    merchant = merchant_factory(bps=0, fixed=0)
    payment = payment_create(merchant=merchant, amount=eur("30.00"), card=card())
    accounts = merchant_accounts_open(merchant_id=merchant.public_id, currency=EUR)
    # Settle part of it (pending -> available 5) and withhold a reserve (pending -> reserve 10).
    for kind, amount in ((AccountKind.AVAILABLE, "5.00"), (AccountKind.RESERVE, "10.00")):
        ledger_post(
            reference=f"test-move:{kind}",
            kind="settlement",
            lines=[
                PostingLine(accounts[AccountKind.PENDING].pk, -eur(amount)),
                PostingLine(accounts[kind].pk, eur(amount)),
            ],
            merchant_id=merchant.public_id,
        )
    refund_create(payment=payment, amount=eur("22.00"))
    mid = merchant.public_id
    assert posted(mid, AccountKind.AVAILABLE) == 0
    assert posted(mid, AccountKind.PENDING) == 0
    assert posted(mid, AccountKind.RESERVE) == Decimal("8.00")
    assert_ledger_ok()


def test_wallet_refund_goes_back_to_the_wallet(merchant_factory):
    merchant = merchant_factory(bps=0, fixed=0)
    wallet = wallet_for(merchant, amount=Decimal("50.00"))
    payment = payment_create(merchant=merchant, amount=eur("20.00"), source_account_id=wallet.public_id)
    refund = refund_create(payment=payment, amount=eur("8.00"))
    assert refund.status == "succeeded"
    assert account_balance_get(account_id=wallet.pk).posted.amount == Decimal("38.00")
    assert_ledger_ok()


def test_refund_declined_by_the_processor_is_reversed(merchant_factory, settings):
    from django.core.cache import cache

    merchant = merchant_factory(bps=0, fixed=0)
    payment = payment_create(merchant=merchant, amount=eur("10.00"), card=card())
    # The network forgot the authorization: it declines the refund.
    cache.delete(f"paysys:sim:auth:{payment.processor_authorization}")
    refund = refund_create(payment=payment, amount=eur("4.00"))
    assert refund.status == "failed"
    payment.refresh_from_db()
    assert payment.amount_refunded == eur("0")
    assert posted(merchant.public_id, AccountKind.PENDING) == Decimal("10.00")
    assert Event.objects.filter(type="refund.failed", object_id=refund.public_id).exists()
    assert_ledger_ok()


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_refunds_never_exceed_the_captured_amount(merchant_factory):
    merchant = merchant_factory(bps=0, fixed=0)
    payment = payment_create(merchant=merchant, amount=eur("100.00"), card=card())
    # 20 requests of 7.00 each against 100.00: at most 14 can succeed.
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def refund_once():
        try:
            barrier.wait()
            fresh = Payment.objects.get(pk=payment.pk)
            refund_create(payment=fresh, amount=eur("7.00"))
            result = "ok"
        except InvalidRequestError as exc:
            result = exc.code
        except Exception as exc:
            result = f"unexpected:{type(exc).__name__}:{exc}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=refund_once) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(outcomes)) == ["amount_too_large", "ok"], outcomes
    assert outcomes.count("ok") == 14
    payment.refresh_from_db()
    assert payment.amount_refunded == eur("98.00")
    assert Refund.objects.filter(payment=payment, status="succeeded").count() == 14
    assert posted(merchant.public_id, AccountKind.PENDING) == Decimal("2.00")
    assert_ledger_ok()
