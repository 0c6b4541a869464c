"""``ledger_post`` reads each account with a statement keyed by one account id, the debited side
with its lock (accounts/sql/ledger_post.sql): its plans are prepared once per connection instead
of for every call, and the debited side takes one statement instead of a read and a lock. Both
versions keep the same rules, so going back leaves the function as it is (its earlier text is in
the file's history).
"""

from django.db import migrations

from accounts.sql import sql_file_apply


def _forward(apps, schema_editor):
    sql_file_apply(schema_editor, "ledger_post.sql")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_ledger_post_array_loop"),
    ]

    operations = [
        migrations.RunPython(_forward, migrations.RunPython.noop, elidable=False),
    ]
