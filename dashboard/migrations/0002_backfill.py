"""Fill the daily figures from the payments, refunds, disputes and deliveries already stored.

The statements are the ones the beat task runs (dashboard/sql/), read from their files, over
every day from the first payment or delivery to today (UTC).
"""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
STATEMENTS = ("payment_days_clear", "payment_days", "delivery_days_clear", "delivery_days")


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT least((SELECT min(created) FROM payments_payment),"
            " (SELECT min(created) FROM events_webhookdelivery)) AT TIME ZONE 'UTC',"
            " now() AT TIME ZONE 'UTC'"
        )
        first, now = cursor.fetchone()
        if first is None:
            return
        for name in STATEMENTS:
            cursor.execute((SQL_DIR / f"{name}.sql").read_text(), {"first": first.date(), "last": now.date()})


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("payments", "0009_dashboard_indexes"),
        ("events", "0005_deliveries_by_day"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
