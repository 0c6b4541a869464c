"""Beat recomputes the dashboard's figures of the days that may still change, every minute."""

from django.db import migrations
from django.utils import timezone

NAME = "paysys.dashboard.days_refresh"
EVERY_SECONDS = 60
EXPIRE_SECONDS = 50


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
        description="Recompute the dashboard's daily figures of today and the days that may still change.",
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [("ops", "0002_payouts_update")]

    operations = [migrations.RunPython(schedule_create, migrations.RunPython.noop)]
