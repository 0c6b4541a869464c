"""Celery tasks of the audit log: thin wrappers over its services."""

from celery import shared_task

from paysys.audit.services import audit_verify


@shared_task(name="paysys.audit.audit_verify", ignore_result=True)
def audit_verify_task() -> bool:
    """Nightly: walk every audit chain; the outcome is itself an ``audit.verified`` row."""
    return audit_verify().ok
