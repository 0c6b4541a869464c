"""Beat asks the bank about payouts in transit, and sends pending ones whose message was lost."""

from django.db import migrations
from django.utils import timezone

NAME = "paysys.settlements.payouts_update"
EVERY_SECONDS = 600
EXPIRE_SECONDS = 540


def schedule_create(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(every=EVERY_SECONDS, period="seconds")
    PeriodicTask.objects.create(
        name=NAME,
        task=NAME,
        interval=interval,
        expire_seconds=EXPIRE_SECONDS,
        description="Apply the bank's outcome to payouts in transit; send pending payouts.",
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [("ops", "0001_beat_schedule")]

    operations = [migrations.RunPython(schedule_create, migrations.RunPython.noop)]
