"""Celery tasks of the ledger: thin wrappers over its services."""

from celery import shared_task

from accounts.services import holds_expire, ledger_verify


@shared_task(name="paysys.accounts.ledger_verify", ignore_result=True)
def ledger_verify_task() -> bool:
    """Nightly: check every ledger invariant and store the result (``LedgerVerification``)."""
    return ledger_verify(store=True).ok


@shared_task(name="paysys.accounts.holds_expire", ignore_result=True)
def holds_expire_task() -> int:
    """Release held funds whose hold expired."""
    return holds_expire()
