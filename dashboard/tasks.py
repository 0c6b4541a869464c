"""Celery tasks of the dashboard: thin wrappers over its services (beat runs this one)."""

from celery import shared_task

from dashboard.services import days_refresh

# Beat runs it every minute (paysys/ops/migrations); a run takes far less at a million payments.
DAYS_REFRESH_TIME_LIMIT_SECONDS = 50


@shared_task(
    name="paysys.dashboard.days_refresh", ignore_result=True, time_limit=DAYS_REFRESH_TIME_LIMIT_SECONDS
)
def days_refresh_task() -> dict:
    """Recompute the dashboard's figures of the days that may still change."""
    span = days_refresh()
    return {"first": span.first.isoformat(), "last": span.last.isoformat()}
