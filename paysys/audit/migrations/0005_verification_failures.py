"""A verification keeps what it found wrong and how long it took (the ledger-health page shows
both); running one from the admin is a permission of its own."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_emptying_refused'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='auditverification',
            options={'ordering': ['-id'], 'permissions': [('run_auditverification', "Can run the audit log's verification now")]},
        ),
        migrations.AddField(
            model_name='auditverification',
            name='duration_ms',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='auditverification',
            name='failures',
            field=models.JSONField(blank=True, default=list),
        ),
    ]
