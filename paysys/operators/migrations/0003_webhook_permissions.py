"""The admin role gets the webhook operators' permissions (re-enable an endpoint, resend a
delivery: paysys/operators/roles.py); the other roles do not."""

from django.db import migrations

from paysys.operators.roles import roles_sync


def roles_update(apps, schema_editor):
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0002_adjustment_permissions"),
        ("events", "0004_operator_permissions"),
    ]

    operations = [migrations.RunPython(roles_update, migrations.RunPython.noop)]
