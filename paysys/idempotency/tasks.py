"""Beat tasks of the idempotency store: thin wrappers over its services."""

from celery import shared_task

from paysys.idempotency.services import idempotency_keys_prune


@shared_task(name="paysys.idempotency.prune")
def prune() -> int:
    return idempotency_keys_prune()
