"""Currencies in upper case, as everywhere else inside paysys (the API shows them lower-case)."""

from django.db import migrations, models
from django.db.models.functions import Lower, Upper

# Each model's currency column, the history tables' included.
CURRENCY_COLUMNS = {
    "Merchant": "default_currency",
    "HistoricalMerchant": "default_currency",
    "FeePlan": "currency",
    "HistoricalFeePlan": "currency",
    "MerchantLimit": "currency",
    "HistoricalMerchantLimit": "currency",
}


def _recase(function):
    def recase(apps, schema_editor):
        for model_name, column in CURRENCY_COLUMNS.items():
            model = apps.get_model("merchants", model_name)
            model.objects.update(**{column: function(column)})

    return recase


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0006_admin_action_permissions"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="feeplan",
            name="merchants_feeplan_currency_lowercase",
        ),
        migrations.RemoveConstraint(
            model_name="merchant",
            name="merchants_merchant_currency_lowercase",
        ),
        migrations.RemoveConstraint(
            model_name="merchantlimit",
            name="merchants_merchantlimit_currency_lowercase",
        ),
        migrations.RunPython(_recase(Upper), _recase(Lower)),
        migrations.AlterField(
            model_name="historicalmerchant",
            name="default_currency",
            field=models.CharField(default="EUR", max_length=3),
        ),
        migrations.AlterField(
            model_name="merchant",
            name="default_currency",
            field=models.CharField(default="EUR", max_length=3),
        ),
        migrations.AddConstraint(
            model_name="feeplan",
            constraint=models.CheckConstraint(
                condition=models.Q(("currency__regex", "^[A-Z]{3}$")), name="merchants_feeplan_currency_uppercase"
            ),
        ),
        migrations.AddConstraint(
            model_name="merchant",
            constraint=models.CheckConstraint(
                condition=models.Q(("default_currency__regex", "^[A-Z]{3}$")),
                name="merchants_merchant_currency_uppercase",
            ),
        ),
        migrations.AddConstraint(
            model_name="merchantlimit",
            constraint=models.CheckConstraint(
                condition=models.Q(("currency__regex", "^[A-Z]{3}$")),
                name="merchants_merchantlimit_currency_uppercase",
            ),
        ),
    ]
