"""The merchants app's data migrations, run forward and back on rows written as they stood.

Each test migrates the app back inside its own transaction (PostgreSQL's DDL is transactional),
writes rows through the historical models of that state, migrates forward and checks them; the
test's rollback restores the schema.
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from moneyed import Money

from merchants.models import FeePlan, Merchant, MerchantLimit
from merchants.selectors import merchant_fee_terms_get
from paysys.audit.services import audit_record

pytestmark = pytest.mark.django_db

BEFORE_MONEY = ("merchants", "0006_admin_action_permissions")
BEFORE_PER_CURRENCY_FEES = ("merchants", "0004_lean_indexes")


def _migrate(target: tuple[str, str] | None = None):
    """Migrate the merchants app to ``target`` (default: its latest); the state's apps."""
    with connection.cursor() as cursor:
        # Rows written earlier in this transaction must not leave FK checks pending for ALTER TABLE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    targets = [target] if target else executor.loader.graph.leaf_nodes("merchants")
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def test_currencies_go_upper_case_and_minor_units_become_money_and_back():
    old = _migrate(BEFORE_MONEY)
    merchant = old.get_model("merchants", "Merchant").objects.create(
        public_id="mer_migrated", name="Shop", email="shop@example.com", default_currency="kwd"
    )
    plans = old.get_model("merchants", "FeePlan").objects
    kwd = plans.create(merchant=merchant, currency="kwd", basis_points=100, fixed_minor=250)
    jpy = plans.create(
        merchant=merchant, currency="jpy", basis_points=0, fixed_minor=30, dispute_fee_minor=2000
    )
    limit = old.get_model("merchants", "MerchantLimit").objects.create(
        merchant=merchant, currency="eur", max_payment_minor=100_050
    )
    old.get_model("merchants", "HistoricalFeePlan").objects.create(
        id=kwd.pk,
        merchant_id=merchant.pk,
        currency="kwd",
        basis_points=100,
        fixed_minor=5,
        created=timezone.now(),
        updated=timezone.now(),
        history_date=timezone.now(),
        history_type="~",
    )

    new = _migrate()

    shop = Merchant.objects.get(pk=merchant.pk)
    assert shop.default_currency == "KWD"
    assert (FeePlan.objects.get(pk=kwd.pk).fixed, FeePlan.objects.get(pk=kwd.pk).dispute_fee) == (
        Money("0.250", "KWD"),
        None,
    )
    assert (FeePlan.objects.get(pk=jpy.pk).fixed, FeePlan.objects.get(pk=jpy.pk).dispute_fee) == (
        Money(30, "JPY"),
        Money(2000, "JPY"),
    )
    assert (
        MerchantLimit.objects.get(pk=limit.pk).max_payment,
        MerchantLimit.objects.get(pk=limit.pk).daily_volume,
    ) == (
        Money("1000.50", "EUR"),
        None,
    )
    past = new.get_model("merchants", "HistoricalFeePlan").objects.get(id=kwd.pk)
    assert (past.currency, past.fixed.amount) == ("KWD", Decimal("0.005"))
    assert merchant_fee_terms_get(merchant=shop, currency="JPY").dispute_fee == Money(2000, "JPY")

    old = _migrate(BEFORE_MONEY)
    plan = old.get_model("merchants", "FeePlan").objects.get(pk=kwd.pk)
    assert (plan.currency, plan.fixed_minor, plan.dispute_fee_minor) == ("kwd", 250, None)
    back = old.get_model("merchants", "MerchantLimit").objects.get(pk=limit.pk)
    assert (back.currency, back.max_payment_minor) == ("eur", 100_050)
    assert old.get_model("merchants", "Merchant").objects.get(pk=merchant.pk).default_currency == "kwd"


def test_only_untouched_flat_defaults_move_to_the_currency_default():
    """0005: a plan holding the old flat 30 minor units that no operator set follows the
    platform's default for its currency; a fee an operator chose is kept."""
    old = _migrate(BEFORE_PER_CURRENCY_FEES)
    merchants = old.get_model("merchants", "Merchant").objects
    plans = old.get_model("merchants", "FeePlan").objects
    untouched = plans.create(
        merchant=merchants.create(
            public_id="mer_untouched", name="A", email="a@example.com", default_currency="kwd"
        ),
        currency="kwd",
        basis_points=290,
        fixed_minor=30,
    )
    chosen_merchant = merchants.create(public_id="mer_chosen", name="B", email="b@example.com")
    chosen = plans.create(merchant=chosen_merchant, currency="eur", basis_points=290, fixed_minor=30)
    other = plans.create(
        merchant=merchants.create(
            public_id="mer_other", name="C", email="c@example.com", default_currency="jpy"
        ),
        currency="jpy",
        basis_points=290,
        fixed_minor=45,
    )
    # An operator set 30 on purpose: its audit row says so, and the migration keeps it.
    audit_record(
        event_type="merchant.fee_plan_set",
        object_type="merchant",
        object_id=chosen_merchant.public_id,
        merchant_id=chosen_merchant.public_id,
        currency="EUR",
    )

    _migrate()

    assert FeePlan.objects.get(pk=untouched.pk).fixed is None
    assert FeePlan.objects.get(pk=chosen.pk).fixed == Money("0.30", "EUR")
    assert FeePlan.objects.get(pk=other.pk).fixed == Money(45, "JPY")
    assert merchant_fee_terms_get(
        merchant=Merchant.objects.get(pk=untouched.merchant_id), currency="KWD"
    ).fixed == Money("0.100", "KWD")
