"""Merchant lifecycle and API keys, on PostgreSQL."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from moneyed import Money

from accounts.models import LedgerAccount
from merchants import keys
from merchants.models import ApiKey, FeePlan, Merchant
from merchants.selectors import merchant_fee_terms_get, merchant_limits_get
from merchants.services import (
    MerchantStateError,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    merchant_activate,
    merchant_close,
    merchant_onboard,
    merchant_suspend,
)
from paysys.audit.models import AuditEvent
from paysys.errors import AuthenticationError, InvalidRequestError, PermissionDeniedError

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    merchant = merchant_onboard(name="Shop", email="shop@example.com", default_currency="EUR")
    return merchant_activate(merchant_id=merchant.public_id)


def test_onboarding_creates_a_pending_merchant_with_a_fee_plan():
    merchant = merchant_onboard(name="Shop", email="shop@example.com", default_currency="USD")
    assert merchant.public_id.startswith("mer_")
    assert merchant.status == Merchant.Status.PENDING
    assert FeePlan.objects.get(merchant=merchant).currency == "USD"
    assert merchant.settlement_delay_days == 1


@pytest.mark.parametrize("currency", ["eur", "XYZ", "EU", "DEM"])
def test_onboarding_rejects_a_bad_currency(currency):
    """Inside paysys a currency is an upper-case code; the lower-case API spelling is the edge's."""
    with pytest.raises(InvalidRequestError) as info:
        merchant_onboard(name="Shop", email="shop@example.com", default_currency=currency)
    assert info.value.param == "currency"


def test_activation_opens_the_merchants_ledger_accounts(merchant):
    assert merchant.status == Merchant.Status.ACTIVE
    kinds = set(LedgerAccount.objects.filter(merchant_id=merchant.public_id).values_list("kind", "currency"))
    assert kinds == {("pending", "EUR"), ("available", "EUR"), ("reserve", "EUR")}
    assert AuditEvent.objects.filter(event_type="merchant.active", object_id=merchant.public_id).exists()


def test_status_moves_only_along_the_table(merchant):
    with pytest.raises(MerchantStateError):
        merchant_activate(merchant_id=merchant.public_id)
    merchant_suspend(merchant_id=merchant.public_id, reason="risk")
    merchant_activate(merchant_id=merchant.public_id)
    merchant_close(merchant_id=merchant.public_id)
    for move in (merchant_activate, merchant_suspend, merchant_close):
        with pytest.raises(MerchantStateError):
            move(merchant_id=merchant.public_id)


def test_secret_is_returned_once_and_only_its_hash_is_stored(merchant):
    key, secret = api_key_create(merchant_id=merchant.public_id)
    assert secret.startswith("sk_test_") and len(secret) == 48
    assert key.prefix == secret[:16]
    assert key.secret_hash == keys.secret_hash(secret) != secret
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM merchants_apikey WHERE secret_hash = %s OR prefix = %s", [secret, secret]
        )
        assert cursor.fetchone()[0] == 0


def test_live_read_only_key(merchant):
    _key, secret = api_key_create(merchant_id=merchant.public_id, scope="read", mode="live")
    caller = api_key_authenticate(secret=secret)
    assert secret.startswith("sk_live_")
    assert (caller.can_write, caller.livemode, caller.merchant_id) == (False, True, merchant.public_id)


def test_authenticate_resolves_the_key_in_one_query_once_recently_used(merchant, django_assert_num_queries):
    _key, secret = api_key_create(merchant_id=merchant.public_id)
    api_key_authenticate(secret=secret)  # first use writes last_used_at
    with django_assert_num_queries(1):
        api_key_authenticate(secret=secret)


def test_last_used_at_is_refreshed_at_most_once_a_minute(merchant):
    key, secret = api_key_create(merchant_id=merchant.public_id)
    api_key_authenticate(secret=secret)
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    api_key_authenticate(secret=secret)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    api_key_authenticate(secret=secret)
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first


@pytest.mark.parametrize("secret", ["", "sk_test_short", "pk_test_" + "a" * 40, "sk_test_" + "a" * 40])
def test_unknown_or_malformed_secret_is_rejected(secret, merchant):
    with pytest.raises(AuthenticationError):
        api_key_authenticate(secret=secret)


def test_revoked_key_stops_at_once(merchant):
    key, secret = api_key_create(merchant_id=merchant.public_id)
    api_key_authenticate(secret=secret)
    api_key_revoke(prefix=key.prefix)
    with pytest.raises(AuthenticationError):
        api_key_authenticate(secret=secret)


def test_rotation_keeps_the_old_key_during_the_overlap_only(merchant):
    old, old_secret = api_key_create(merchant_id=merchant.public_id, scope="read")
    new, new_secret = api_key_rotate(prefix=old.prefix, overlap=timedelta(hours=2))
    assert (new.scope, new.mode, new.rotated_from_id) == ("read", "test", old.pk)
    api_key_authenticate(secret=old_secret)
    api_key_authenticate(secret=new_secret)
    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthenticationError):
        api_key_authenticate(secret=old_secret)
    api_key_authenticate(secret=new_secret)


def test_suspended_merchant_keys_get_merchant_suspended(merchant):
    _key, secret = api_key_create(merchant_id=merchant.public_id)
    merchant_suspend(merchant_id=merchant.public_id)
    with pytest.raises(PermissionDeniedError) as info:
        api_key_authenticate(secret=secret)
    assert info.value.code == "merchant_suspended"


def test_closing_revokes_every_key(merchant):
    _key, secret = api_key_create(merchant_id=merchant.public_id)
    merchant_close(merchant_id=merchant.public_id)
    assert not ApiKey.objects.filter(merchant=merchant, revoked_at__isnull=True).exists()
    with pytest.raises(AuthenticationError):
        api_key_authenticate(secret=secret)


def test_fee_terms_and_limits_default_when_unset(merchant, settings):
    terms = merchant_fee_terms_get(merchant=merchant, currency="EUR")
    assert terms.basis_points == settings.PAYSYS_DEFAULT_FEE_BASIS_POINTS
    assert terms.fixed == Money("0.25", "EUR")  # the platform default for EUR (docs/decisions.md)
    assert merchant_fee_terms_get(merchant=merchant, currency="JPY").fixed.currency.code == "JPY"
    assert merchant_limits_get(merchant=merchant, currency="EUR").max_payment is None


def test_history_is_kept_for_merchants_and_keys(merchant):
    key, _secret = api_key_create(merchant_id=merchant.public_id)
    api_key_revoke(prefix=key.prefix)
    assert merchant.history.count() >= 2
    assert key.history.count() == 2


def _run(name, *args):
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def test_create_merchant_json_prints_id_and_a_working_test_key():
    import json

    printed = json.loads(_run("create_merchant", "--name", "Shop", "--email", "s@example.com", "--json"))
    assert set(printed) == {"id", "api_key"}
    assert api_key_authenticate(secret=printed["api_key"]).merchant_id == printed["id"]


def test_create_merchant_takes_the_api_spelling_of_the_currency_and_stores_it_upper_case():
    _run("create_merchant", "--name", "Yen", "--email", "y@example.com", "--currency", "jpy")
    merchant = Merchant.objects.get(name="Yen")
    assert merchant.default_currency == "JPY"
    assert FeePlan.objects.get(merchant=merchant).currency == "JPY"
    assert set(
        LedgerAccount.objects.filter(merchant_id=merchant.public_id).values_list("currency", flat=True)
    ) == {"JPY"}
    with pytest.raises(CommandError, match="lower-case ISO 4217"):
        _run("create_merchant", "--name", "Upper", "--email", "u@example.com", "--currency", "JPY")
    assert not Merchant.objects.filter(name="Upper").exists()


def test_create_merchant_with_platform_connects_it_once_level_deep():
    import json

    platform = json.loads(_run("create_merchant", "--name", "Market", "--email", "m@example.com", "--json"))
    printed = _run(
        "create_merchant", "--name", "Seller", "--email", "s@example.com", "--platform", platform["id"]
    )
    seller = Merchant.objects.get(name="Seller")
    assert seller.platform.public_id == platform["id"]
    assert f"connected to {platform['id']}" in printed
    with pytest.raises(CommandError, match="cannot be a platform itself"):
        _run("create_merchant", "--name", "Sub", "--email", "x@example.com", "--platform", seller.public_id)
    with pytest.raises(CommandError, match="No such merchant"):
        _run("create_merchant", "--name", "Sub", "--email", "x@example.com", "--platform", "mer_nope")
    assert not Merchant.objects.filter(name="Sub").exists()


def test_create_and_revoke_api_key_commands(merchant):
    import json

    printed = json.loads(_run("create_api_key", merchant.public_id, "--read-only", "--json"))
    assert api_key_authenticate(secret=printed["api_key"]).can_write is False
    assert "Revoked" in _run("revoke_api_key", printed["api_key"][:16])
    with pytest.raises(AuthenticationError):
        api_key_authenticate(secret=printed["api_key"])


def test_seed_demo_runs_twice_and_prints_a_usable_key():
    first = _run("seed_demo")
    second = _run("seed_demo")
    assert "http://127.0.0.1:8000/admin/" in first
    assert Merchant.objects.filter(email="demo@paysys.test").count() == 1
    secret = next(word for word in second.split() if word.startswith("sk_test_"))
    assert api_key_authenticate(secret=secret).merchant_id.startswith("mer_")
    assert "already there" in second
