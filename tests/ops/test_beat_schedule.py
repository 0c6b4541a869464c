"""The schedule is data in django-celery-beat's tables (paysys/ops/migrations/0001_beat_schedule):
beat's start does not overwrite it, every entry names a registered task and expires before its
next run, and every task has a time limit."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from paysys.celery import app

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("beat_schedule")]

NIGHTLY = {
    "paysys.accounts.ledger_verify",
    "paysys.audit.audit_verify",
    "paysys.payments.processor_reconcile",
    "paysys.settlements.settlement_run",
}


def _project_tasks() -> list[PeriodicTask]:
    return list(PeriodicTask.objects.filter(task__startswith="paysys.").select_related("interval", "crontab"))


def _period_seconds(task: PeriodicTask) -> float:
    if task.interval is not None:
        return task.interval.schedule.run_every.total_seconds()
    return timedelta(days=1).total_seconds()


def _fires_in_a_day(task: PeriodicTask) -> list[datetime]:
    schedule = task.crontab.schedule
    start = datetime(2026, 12, 3, tzinfo=UTC)
    minutes = [start + timedelta(minutes=m) for m in range(24 * 60)]
    return [t for t in minutes if t.hour in schedule.hour and t.minute in schedule.minute]


def test_every_periodic_task_names_a_registered_task():
    app.loader.import_default_modules()
    tasks = _project_tasks()
    assert len(tasks) >= 9
    assert {t.name: t.task for t in tasks if t.task not in app.tasks} == {}


def test_the_nightly_tasks_run_once_a_night():
    for task in PeriodicTask.objects.filter(name__in=NIGHTLY).select_related("crontab"):
        fires = _fires_in_a_day(task)
        assert len(fires) == 1, task.name
        assert fires[0].hour < 6, task.name
    assert PeriodicTask.objects.filter(name__in=NIGHTLY).count() == len(NIGHTLY)


def test_every_periodic_task_expires_before_its_next_run():
    for task in _project_tasks():
        assert task.expire_seconds, task.name
        assert 0 < task.expire_seconds < _period_seconds(task), task.name


def test_every_task_has_a_time_limit():
    app.loader.import_default_modules()
    project = [task for name, task in app.tasks.items() if name.startswith("paysys.")]
    assert project
    for task in project:
        assert (task.time_limit or app.conf.task_time_limit or 0) > 0, task.name
    assert app.tasks["paysys.settlements.settlement_run"].time_limit > app.conf.task_time_limit


def test_nothing_is_scheduled_from_settings():
    assert settings.CELERY_BEAT_SCHEDULE == {}


# Beat's scheduler commits and closes the connection it finds in a transaction, as a process of
# its own would: a transactional test.
@pytest.mark.django_db(transaction=True)
def test_an_operators_change_survives_a_beat_restart():
    """Beat starts (its scheduler sets itself up), an operator moves the nightly settlement to
    04:45 in the admin, beat restarts: the time read back is the operator's."""
    DatabaseScheduler(app=app)
    task = PeriodicTask.objects.select_related("crontab").get(name="paysys.settlements.settlement_run")
    assert (task.crontab.hour, task.crontab.minute) == ("0", "30")
    crontab = task.crontab
    crontab.hour, crontab.minute = "4", "45"
    crontab.save()

    restarted = DatabaseScheduler(app=app)
    task = PeriodicTask.objects.select_related("crontab").get(name="paysys.settlements.settlement_run")
    assert (task.crontab.hour, task.crontab.minute) == ("4", "45")
    entry = restarted.schedule["paysys.settlements.settlement_run"]
    assert entry.schedule.hour == {4} and entry.schedule.minute == {45}
    assert entry.options["expires"] == task.expire_seconds
