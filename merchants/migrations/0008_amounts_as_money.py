"""Fee plans and limits hold money (a decimal amount in the row's currency), not minor units."""

from decimal import Decimal

import djmoney.models.fields
from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Cast

from paysys.money import currency_exponent

# model: {old minor-unit column: new amount column}
AMOUNTS = {
    "FeePlan": {"fixed_minor": "fixed", "dispute_fee_minor": "dispute_fee"},
    "HistoricalFeePlan": {"fixed_minor": "fixed", "dispute_fee_minor": "dispute_fee"},
    "MerchantLimit": {"max_payment_minor": "max_payment", "daily_volume_minor": "daily_volume"},
    "HistoricalMerchantLimit": {"max_payment_minor": "max_payment", "daily_volume_minor": "daily_volume"},
}


def _per_currency(convert):
    """Run ``convert(columns, minor_unit)`` on each model's rows of each currency they hold."""

    def run(apps, schema_editor):
        for model_name, columns in AMOUNTS.items():
            rows = apps.get_model("merchants", model_name).objects
            for code in rows.values_list("currency", flat=True).distinct().order_by():
                minor_unit = Value(Decimal(1).scaleb(-currency_exponent(code)))
                rows.filter(currency=code).update(**convert(columns, minor_unit))

    return run


def _to_amounts(columns, minor_unit):
    # A Cast, not an ExpressionWrapper: django-money's manager rewrites other expressions on a
    # MoneyField as Money arithmetic.
    output = models.DecimalField(max_digits=19, decimal_places=3)
    return {amount: Cast(F(minor) * minor_unit, output) for minor, amount in columns.items()}


def _to_minor_units(columns, minor_unit):
    return {minor: Cast(F(amount) / minor_unit, models.BigIntegerField()) for minor, amount in columns.items()}


def _money(**kwargs):
    return djmoney.models.fields.MoneyField(
        blank=True, currency_field_name="currency", decimal_places=3, max_digits=19, null=True, **kwargs
    )


DEFAULT_HELP = "Empty: the platform default for the currency."


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0007_currency_upper_case"),
    ]

    operations = [
        *(
            migrations.AddField(model_name=model, name=name, field=_money(help_text=DEFAULT_HELP))
            for model in ("feeplan", "historicalfeeplan")
            for name in ("fixed", "dispute_fee")
        ),
        *(
            migrations.AddField(model_name=model, name=name, field=_money())
            for model in ("merchantlimit", "historicalmerchantlimit")
            for name in ("max_payment", "daily_volume")
        ),
        migrations.RunPython(_per_currency(_to_amounts), _per_currency(_to_minor_units)),
        *(
            migrations.RemoveField(model_name=model, name=name)
            for model in ("feeplan", "historicalfeeplan")
            for name in ("fixed_minor", "dispute_fee_minor")
        ),
        *(
            migrations.RemoveField(model_name=model, name=name)
            for model in ("merchantlimit", "historicalmerchantlimit")
            for name in ("max_payment_minor", "daily_volume_minor")
        ),
        migrations.AddConstraint(
            model_name="feeplan",
            constraint=models.CheckConstraint(
                condition=models.Q(("fixed__gte", 0)), name="merchants_feeplan_fixed_nonnegative"
            ),
        ),
        migrations.AddConstraint(
            model_name="feeplan",
            constraint=models.CheckConstraint(
                condition=models.Q(("dispute_fee__gte", 0)), name="merchants_feeplan_dispute_fee_nonnegative"
            ),
        ),
        migrations.AddConstraint(
            model_name="merchantlimit",
            constraint=models.CheckConstraint(
                condition=models.Q(("max_payment__gt", 0)), name="merchants_merchantlimit_max_payment_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="merchantlimit",
            constraint=models.CheckConstraint(
                condition=models.Q(("daily_volume__gt", 0)), name="merchants_merchantlimit_daily_volume_positive"
            ),
        ),
    ]
