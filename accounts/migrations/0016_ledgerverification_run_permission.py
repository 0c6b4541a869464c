"""Running the ledger's verification from the admin is a permission of its own."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0015_ledger_post_one_plan'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='ledgerverification',
            options={'ordering': ['-id'], 'permissions': [('run_ledgerverification', "Can run the ledger's verification now")]},
        ),
    ]
