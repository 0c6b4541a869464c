"""Celery tasks of payments: thin wrappers over its services (beat runs them)."""

from celery import shared_task

from payments.services import payments_expire_authorizations, payments_resolve_processing


@shared_task(name="paysys.payments.payments_resolve_processing", ignore_result=True)
def payments_resolve_processing_task() -> dict:
    """Ask the processor about operations whose answer was lost, and apply its answers."""
    return payments_resolve_processing()


@shared_task(name="paysys.payments.expire_authorizations", ignore_result=True)
def payments_expire_authorizations_task() -> int:
    """Void uncaptured authorizations older than PAYSYS_AUTHORIZATION_TTL_DAYS."""
    return payments_expire_authorizations()
