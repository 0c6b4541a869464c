"""One row of every model the admin shows, and operators who log in with a password."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from moneyed import Money

from accounts.adjustments import adjustment_propose
from accounts.models import AccountKind
from accounts.services import hold_place, ledger_verify, platform_account_get, transfer_create
from merchants.services import api_key_create, merchant_activate, merchant_onboard
from payments.models import BlocklistEntry
from payments.reconciliation import processor_reconcile
from payments.services import dispute_open, payment_create, payments_resolve_processing, refund_create
from settlements.services import payout_hold, payout_release, settlement_run
from tests.payments.conftest import (  # noqa: F401 (fixtures)
    _fresh_processor_state,
    card,
    wallet_for,
)

PASSWORD = "pw-for-tests-only-7c1"
REVIEW_CARD = "4100000000000019"
PROJECT_APPS = {"accounts", "merchants", "payments", "settlements", "audit", "events", "idempotency", "ops"}


@pytest.fixture
def world(db, settings):
    """A merchant with a key; a captured, partly refunded payment; a disputed one; one waiting
    for review; a wallet transfer and a hold; a blocklist entry; a processor break (resolved);
    a stored ledger check; tomorrow's settlement run (a batch, a settlement, lines, a payout held then released);
    a ledger adjustment proposed by a finance operator ("maker")."""
    merchant = merchant_onboard(name="Shop", email="shop@example.com", default_currency="EUR")
    merchant = merchant_activate(merchant_id=merchant.public_id)
    key, _ = api_key_create(merchant_id=merchant.public_id)
    refunded = payment_create(merchant=merchant, amount=Money("30.00", "EUR"), card=card())
    refund_create(payment=refunded, amount=Money("5.00", "EUR"))
    disputed = payment_create(merchant=merchant, amount=Money("20.00", "EUR"), card=card())
    dispute_open(payment_id=disputed.public_id)
    review = payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card(REVIEW_CARD))
    wallet = wallet_for(merchant, amount=Decimal("50.00"))
    other = wallet_for(merchant, amount=Decimal("1.00"))
    transfer_create(
        merchant_id=merchant.public_id,
        from_account_id=wallet.pk,
        to_account_id=other.pk,
        amount=Money(3, "EUR"),
    )
    hold_place(account_id=wallet.pk, amount=Money(2, "EUR"), reference="admin-safety-hold")
    BlocklistEntry.objects.create(kind="ip", value="203.0.113.9", reason="seen in fraud")
    # An answer lost on its way: a break until the resolver applies it and the day is reconciled again.
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    payment_create(merchant=merchant, amount=Money("7.00", "EUR"), card=card())
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    assert processor_reconcile(date=timezone.now().date())["breaks"] == 1
    payments_resolve_processing(min_age=timedelta(0))
    assert processor_reconcile(date=timezone.now().date())["resolved"] == 1
    payout_hold(merchant_id=merchant.public_id, reason="KYC review")
    settlement_run(date=timezone.now().date() + timedelta(days=1))
    payout_release(merchant_id=merchant.public_id, reason="KYC done")
    ledger_verify(store=True)
    maker = get_user_model().objects.create_user("maker", "maker@example.com", PASSWORD, is_staff=True)
    adjustment = adjustment_propose(
        debit_account_id=platform_account_get(kind=AccountKind.ADJUSTMENTS, currency="EUR").pk,
        credit_account_id=wallet.pk,
        amount=Money("1.50", "EUR"),
        reason="ticket 12: goodwill credit",
        operator_id=maker.pk,
    )
    return {
        "merchant": merchant,
        "key": key,
        "review": review,
        "disputed": disputed,
        "maker": maker,
        "adjustment": adjustment,
    }


def staff_client(*, username: str, superuser: bool = False, perms: list[str] = ()) -> tuple[Client, object]:
    """A client logged in through the login form's backend (a real password check)."""
    users = get_user_model().objects
    if superuser:
        user = users.create_superuser(username, f"{username}@example.com", PASSWORD)
    else:
        user = users.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client, user


@pytest.fixture
def superuser_client(db):
    return staff_client(username="root", superuser=True)


@pytest.fixture
def viewer_client(db):
    """Staff with every view permission and nothing else (the support desk)."""
    perms = Permission.objects.filter(codename__startswith="view_").select_related("content_type")
    return staff_client(username="viewer", perms=[f"{p.content_type.app_label}.{p.codename}" for p in perms])
