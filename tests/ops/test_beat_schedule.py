from datetime import UTC, datetime, timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django_celery_beat.schedulers import ModelEntry

from paysys.celery import app


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    unknown = {
        name: entry["task"]
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if entry["task"] not in app.tasks
    }
    assert unknown == {}


def test_verify_ledger_runs_once_a_night():
    entry = settings.CELERY_BEAT_SCHEDULE["paysys.accounts.ledger_verify"]
    assert entry["task"] == "paysys.accounts.ledger_verify"
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    # Walk one day in minutes: the entry fires exactly once, in the night.
    start = datetime(2026, 12, 3, tzinfo=UTC)
    fires = [start + timedelta(minutes=m) for m in range(24 * 60)]
    fires = [t for t in fires if t.hour in schedule.hour and t.minute in schedule.minute]
    assert len(fires) == 1
    assert fires[0].hour < 6


def test_processor_reconciliation_runs_once_a_night():
    entry = settings.CELERY_BEAT_SCHEDULE["paysys.payments.processor_reconcile"]
    assert entry["task"] == "paysys.payments.processor_reconcile"
    schedule = entry["schedule"]
    start = datetime(2026, 12, 3, tzinfo=UTC)
    fires = [start + timedelta(minutes=m) for m in range(24 * 60)]
    fires = [t for t in fires if t.hour in schedule.hour and t.minute in schedule.minute]
    assert len(fires) == 1
    assert fires[0].hour < 6


@pytest.mark.django_db
def test_processor_reconciliation_expires_before_its_next_run():
    """As beat's database scheduler stores the entry and sends it: with ``expires`` under a day."""
    name = "paysys.payments.processor_reconcile"
    sent = ModelEntry.from_entry(name, app=app, **settings.CELERY_BEAT_SCHEDULE[name])
    assert 0 < sent.options["expires"] < timedelta(days=1).total_seconds()
