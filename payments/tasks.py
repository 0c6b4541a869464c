"""Celery tasks of payments: thin wrappers over its services (beat runs them)."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from payments.reconciliation import processor_reconcile_modes
from payments.services import payments_expire_authorizations, payments_resolve_processing


@shared_task(name="paysys.payments.payments_resolve_processing", ignore_result=True)
def payments_resolve_processing_task() -> dict:
    """Ask the processor about operations whose answer was lost, and apply its answers."""
    return payments_resolve_processing()


@shared_task(name="paysys.payments.expire_authorizations", ignore_result=True)
def payments_expire_authorizations_task() -> int:
    """Void uncaptured authorizations older than PAYSYS_AUTHORIZATION_TTL_DAYS."""
    return payments_expire_authorizations()


@shared_task(name="paysys.payments.processor_reconcile", ignore_result=True)
def processor_reconcile_task(day: str | None = None) -> dict:
    """Nightly: match each mode's processor report of ``day`` (ISO date; yesterday, UTC, by default)."""
    when = date.fromisoformat(day) if day else timezone.now().date() - timedelta(days=1)
    return processor_reconcile_modes(date=when)
