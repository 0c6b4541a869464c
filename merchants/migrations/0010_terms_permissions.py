"""Setting a merchant's terms from the admin: fees (finance) and reserve and limits (risk)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('merchants', '0009_admin_console'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='merchant',
            options={'permissions': [('activate_merchant', 'Can activate or reinstate a merchant'), ('suspend_merchant', 'Can suspend a merchant'), ('close_merchant', 'Can close a merchant'), ('set_merchant_fees', "Can set a merchant's fee plan, settlement delay and payout schedule"), ('set_merchant_risk_terms', "Can set a merchant's rolling reserve and limits")]},
        ),
    ]
