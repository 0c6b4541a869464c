"""Celery tasks of webhook delivery: thin wrappers over ``paysys.events.webhook_services``.

``paysys.events.webhook_deliver`` runs on the ``webhooks`` queue (``PAYSYS_WEBHOOK_QUEUE``),
apart from other work, with ``acks_late``: a worker that dies mid-task leaves the message to be
redelivered, and the delivery rows (locked with SKIP LOCKED while in flight) due for the sweeper.
A message carries a batch of delivery ids (possibly none: "drain what is due").
``paysys.events.webhook_sweep`` is the beat's: the database is the truth, messages only wake
workers up.
"""

from celery import shared_task

from paysys.events import webhook_services


@shared_task(name="paysys.events.webhook_deliver", acks_late=True, ignore_result=True)
def webhook_deliver_task(delivery_ids: list[int] | int) -> dict[str, int]:
    # A bare id is a message queued before deliveries were batched.
    ids = [delivery_ids] if isinstance(delivery_ids, int) else delivery_ids
    return webhook_services.webhook_deliver_batch(delivery_ids=ids)


@shared_task(name="paysys.events.webhook_sweep", ignore_result=True)
def webhook_sweep_task() -> dict[str, int]:
    result = webhook_services.webhook_sweep()
    return {
        "requeued": result.requeued,
        "fanned_out": result.fanned_out,
        "endpoints_disabled": result.endpoints_disabled,
    }
