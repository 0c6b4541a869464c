"""The periodic tasks, written once into django-celery-beat's tables.

Beat's database scheduler re-applies ``CELERY_BEAT_SCHEDULE`` at every start (an
``update_or_create`` per entry), which would undo an operator's change made in the admin. So the
schedule is data, created here and owned by operators afterwards: a row that already exists
(written by an earlier beat from the settings) keeps its schedule; only an empty
``expire_seconds`` is filled in.

Every entry expires before its next run is due: a task beat could not hand to a worker in time
(a broker or worker outage) is dropped instead of piling up behind the next one.
"""

from django.db import migrations
from django.utils import timezone

NIGHTLY_EXPIRE_SECONDS = 3600

# (name = task, every N seconds or (minute, hour) daily UTC, expire_seconds, description)
ENTRIES = [
    ("paysys.idempotency.prune", 3600, 3000, "Drop idempotency keys older than their retention."),
    (
        "paysys.events.webhook_sweep",
        10,
        9,
        "Re-queue due webhook deliveries whose message is missing (the database is the truth).",
    ),
    (
        "paysys.accounts.ledger_verify",
        ("30", "2"),
        NIGHTLY_EXPIRE_SECONDS,
        "Verify every ledger invariant; the result is stored.",
    ),
    ("paysys.accounts.holds_expire", 300, 270, "Release held funds whose hold expired."),
    (
        "paysys.audit.audit_verify",
        ("0", "3"),
        NIGHTLY_EXPIRE_SECONDS,
        "Walk every audit hash chain; the outcome is itself an audit row.",
    ),
    (
        "paysys.payments.payments_resolve_processing",
        60,
        55,
        "Ask the processor about operations whose answer was lost.",
    ),
    (
        "paysys.payments.expire_authorizations",
        3600,
        3000,
        "Void uncaptured authorizations past their lifetime.",
    ),
    (
        "paysys.payments.processor_reconcile",
        ("15", "1"),
        NIGHTLY_EXPIRE_SECONDS,
        "Match yesterday's processor report against the processor operations.",
    ),
    (
        "paysys.settlements.settlement_run",
        ("30", "0"),
        NIGHTLY_EXPIRE_SECONDS,
        "Settle every merchant for today's run date (T+1 of yesterday's captures) and pay out.",
    ),
]


def schedule_create(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, when, expire_seconds, description in ENTRIES:
        existing = PeriodicTask.objects.filter(name=name).first()
        if existing is not None:
            if existing.expire_seconds is None:
                existing.expire_seconds = expire_seconds
                existing.save(update_fields=["expire_seconds"])
            continue
        schedule = {}
        if isinstance(when, int):
            schedule["interval"], _ = IntervalSchedule.objects.get_or_create(every=when, period="seconds")
        else:
            minute, hour = when
            schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone="UTC",
            )
        PeriodicTask.objects.create(
            name=name, task=name, expire_seconds=expire_seconds, description=description, **schedule
        )
    # A running beat re-reads its schedule when this changes.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(schedule_create, migrations.RunPython.noop)]
