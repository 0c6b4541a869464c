"""Finance may run the ledger's and the audit log's verifications now and set a merchant's fees;
risk sets a merchant's reserve and limits (paysys/operators/roles.py)."""

from django.db import migrations

from paysys.operators.roles import roles_sync


def roles_update(apps, schema_editor):
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0003_webhook_permissions"),
        ("accounts", "0016_ledgerverification_run_permission"),
        ("audit", "0005_verification_failures"),
        ("merchants", "0010_terms_permissions"),
    ]

    operations = [migrations.RunPython(roles_update, migrations.RunPython.noop)]
