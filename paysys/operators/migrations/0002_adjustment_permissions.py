"""Finance gets the maker-checker adjustments' permissions (paysys/operators/roles.py)."""

from django.db import migrations

from paysys.operators.roles import roles_sync


def roles_update(apps, schema_editor):
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0001_roles"),
        ("accounts", "0012_adjustments"),
    ]

    operations = [migrations.RunPython(roles_update, migrations.RunPython.noop)]
