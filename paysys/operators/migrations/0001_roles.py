"""The operators' groups and their permissions (paysys/operators/roles.py)."""

from django.db import migrations

from paysys.operators.roles import roles_sync


def roles_create(apps, schema_editor):
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0011_freeze_permission"),
        ("merchants", "0008_amounts_as_money"),
        ("payments", "0006_refund_permission"),
        ("settlements", "0003_batch_run_permission"),
        ("audit", "0004_emptying_refused"),
        ("events", "0002_webhooks"),
        # The admin role holds every permission, these apps' too.
        ("otp_totp", "0003_add_timestamps"),
        ("axes", "0010_accessattemptexpiration"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(roles_create, migrations.RunPython.noop)]
