"""Payments' amounts are ``MoneyField``s sharing the row's one ``currency`` column.

django-money would let an amount in another currency rewrite the shared column, and a zero
default with a currency of its own overwrite the row's when it is built; both are refused here.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from moneyed import Money

from payments.models import Dispute, Payment, Refund, TopUp
from payments.services import payment_create
from tests.payments.conftest import card

AMOUNTS = [
    (Payment, "amount"),
    (Payment, "amount_capturable"),
    (Payment, "amount_captured"),
    (Payment, "amount_refunded"),
    (Payment, "fee"),
    (Refund, "amount"),
    (Dispute, "amount"),
    (Dispute, "fee"),
    (Dispute, "platform_shortfall"),
    (TopUp, "amount"),
]


@pytest.mark.parametrize(("model", "name"), AMOUNTS)
def test_an_amount_in_another_currency_is_refused_and_the_row_keeps_its_currency(model, name):
    row = model(currency="USD", amount=Money("10.00", "USD"))
    with pytest.raises(ValueError, match=f"{name} takes USD, not EUR"):
        setattr(row, name, Money("1.00", "EUR"))
    assert row.currency == "USD"
    assert row.amount == Money("10.00", "USD")
    setattr(row, name, Money("2.00", "USD"))
    assert getattr(row, name) == Money("2.00", "USD")


@pytest.mark.parametrize("model", [Payment, Refund, Dispute, TopUp])
def test_a_row_takes_the_currency_of_its_first_amount(model):
    row = model(amount=Money("500", "JPY"))
    assert row.currency == "JPY"
    with pytest.raises(ValueError, match="amount takes EUR, not JPY"):
        model(amount=Money("5.00", "JPY"), currency="EUR")


def test_zero_defaults_are_in_the_rows_currency_and_leave_it_alone():
    for currency in ("JPY", "KWD", "USD"):
        payment = Payment(currency=currency, amount=Money(1, currency))
        assert payment.currency == currency
        zero = Money(0, currency)
        assert (payment.amount_capturable, payment.amount_captured, payment.amount_refunded, payment.fee) == (
            zero,
            zero,
            zero,
            zero,
        )
        dispute = Dispute(amount=Money(1, currency))
        assert (dispute.currency, dispute.fee, dispute.platform_shortfall) == (currency, zero, zero)


def test_a_stored_payment_reads_its_amounts_as_money(merchant_factory):
    merchant = merchant_factory(currency="JPY", bps=0, fixed=0)
    created = payment_create(merchant=merchant, amount=Money(1500, "JPY"), card=card())
    payment = Payment.objects.get(pk=created.pk)
    assert payment.currency == "JPY"
    assert (payment.amount, payment.amount_captured, payment.fee, payment.net) == (
        Money(1500, "JPY"),
        Money(1500, "JPY"),
        Money(0, "JPY"),
        Money(1500, "JPY"),
    )
    assert Payment.objects.values_list("amount", "currency").get(pk=payment.pk) == (1500, "JPY")


def test_the_migration_to_money_fields_changes_no_sql(db):
    out = StringIO()
    call_command("sqlmigrate", "payments", "0008", stdout=out)
    statements = [line for line in out.getvalue().splitlines() if line and not line.startswith("--")]
    assert statements == ["BEGIN;", "COMMIT;"]


def test_the_admin_shows_amounts_as_money(merchant_factory, client, django_user_model):
    merchant = merchant_factory(currency="JPY", bps=0, fixed=0)
    payment = payment_create(merchant=merchant, amount=Money(1500, "JPY"), card=card())
    client.force_login(
        django_user_model.objects.create_superuser("op", "op@example.com", "pw-for-tests-only")
    )
    listed = client.get("/admin/payments/payment/").content.decode()
    shown = client.get(f"/admin/payments/payment/{payment.pk}/change/").content.decode()
    assert "JPY 1,500" in listed and "JPY 1,500" in shown
