"""Waking delivery workers: Celery messages of delivery ids, sent after commit.

A message only wakes a worker up; the delivery row is the truth. A broker failure is logged and
costs nothing else: the rows are still due, and the sweeper re-queues them.
"""

import logging
from collections.abc import Iterable
from functools import partial

from django.db import transaction

from paysys.events.webhook_services.policy import WEBHOOK_BATCH_SIZE, webhook_queue

logger = logging.getLogger(__name__)


def dispatch_on_commit(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    """Queue the deliveries once the current transaction commits (at once in autocommit)."""
    ids = list(delivery_ids)
    if ids:
        transaction.on_commit(partial(dispatch, ids, countdown=countdown), robust=True)


def dispatch(delivery_ids: list[int], *, countdown: float | None = None) -> None:
    """Send the deliveries' ids, ``WEBHOOK_BATCH_SIZE`` to a message."""
    for start in range(0, len(delivery_ids), WEBHOOK_BATCH_SIZE):
        if not publish(delivery_ids[start : start + WEBHOOK_BATCH_SIZE], countdown=countdown):
            return


def publish(delivery_ids: list[int], *, countdown: float | None = None) -> bool:
    """One message; an empty list asks a worker to drain whatever is due. False: not sent."""
    from paysys.events.tasks import webhook_deliver_task

    try:
        webhook_deliver_task.apply_async(args=[delivery_ids], queue=webhook_queue(), countdown=countdown)
    except Exception:  # the broker is down; the delivery rows are still due
        logger.exception(
            "webhook dispatch failed; the sweeper will re-queue", extra={"deliveries": delivery_ids[:10]}
        )
        return False
    return True
