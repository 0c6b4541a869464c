"""Webhook delivery's rules in numbers: retries, timeouts, batches, limits, and the results an
attempt reports. Settings are read when used, never at import."""

import random
from datetime import timedelta

from django.conf import settings

from paysys.events.models import WebhookDelivery
from paysys.events.types import EVENT_TYPES

# The delay after failed attempt n (1-based: WEBHOOK_RETRY_DELAYS[0] follows the first try).
WEBHOOK_RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
)
MAX_WEBHOOK_ATTEMPTS = len(WEBHOOK_RETRY_DELAYS) + 1
WEBHOOK_RETRY_JITTER = 0.2
WEBHOOK_DISABLE_AFTER = timedelta(days=3)
# A sent message not consumed by then is presumed lost (queue purged, worker killed before it
# acknowledged); sending it again is harmless because the task is idempotent.
WEBHOOK_REDISPATCH_AFTER = timedelta(minutes=2)
# A delivery that finds its endpoint's slots all taken keeps trying for WEBHOOK_SLOT_WAIT (a fast
# endpoint frees a slot within milliseconds), then is put back for WEBHOOK_BUSY_DELAY (a slow one
# holds its slots for up to its timeouts: waiting longer would hand it this worker too).
WEBHOOK_SLOT_WAIT = timedelta(milliseconds=250)
WEBHOOK_SLOT_POLL_SECONDS = 0.01
WEBHOOK_BUSY_DELAY = timedelta(seconds=1)
# The previous secret keeps signing this long after a rotation.
WEBHOOK_SECRET_ROTATION_OVERLAP = timedelta(hours=24)
WEBHOOK_SWEEP_BATCH = 1000
# Delivery ids per Celery message (the sweeper's and the fan-out's); the task delivers them
# concurrently on up to PAYSYS_WEBHOOK_DELIVERY_THREADS threads.
WEBHOOK_BATCH_SIZE = 16
DEFAULT_DELIVERY_THREADS = 8
# How long one message's run keeps taking due deliveries (draining) before it hands the rest to
# a new message; it bounds a task's run time to this plus one attempt's timeouts.
WEBHOOK_DRAIN_SECONDS = 5.0
# How far back the sweeper looks for events whose after-commit fan-out never ran (a process
# killed right after the commit). Older misses are left to a manual resend.
WEBHOOK_FANOUT_LOOKBACK = timedelta(minutes=10)
DEFAULT_QUEUE = "webhooks"
DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT = 4
MAX_ENABLED_EVENTS = 100

# Results of webhook_deliver (for logs and tests), and of a delivery that raised (batches).
RESULT_DELIVERED = "delivered"
RESULT_RETRY_SCHEDULED = "retry_scheduled"
RESULT_ABANDONED = "abandoned"
RESULT_SKIPPED_LOCKED = "skipped_locked"
RESULT_SKIPPED_DONE = "skipped_done"
RESULT_SKIPPED_NOT_DUE = "skipped_not_due"
RESULT_ENDPOINT_BUSY = "endpoint_busy"
RESULT_MISSING = "missing"
RESULT_ERROR = "error"

UNFINISHED = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED)

# The event types a merchant can subscribe to: every type paysys sends (paysys.events.types).
WEBHOOK_EVENT_TYPES = frozenset(EVENT_TYPES)


def webhook_queue() -> str:
    return getattr(settings, "PAYSYS_WEBHOOK_QUEUE", DEFAULT_QUEUE)


def max_in_flight() -> int:
    return int(
        getattr(settings, "PAYSYS_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT)
    )


def delivery_threads() -> int:
    return int(getattr(settings, "PAYSYS_WEBHOOK_DELIVERY_THREADS", DEFAULT_DELIVERY_THREADS))


def retry_delay(attempt_count: int, *, rng: random.Random | None = None) -> timedelta | None:
    """The wait after the ``attempt_count``-th failed attempt, with jitter; None: give up."""
    if attempt_count < 1 or attempt_count > len(WEBHOOK_RETRY_DELAYS):
        return None
    base = WEBHOOK_RETRY_DELAYS[attempt_count - 1]
    factor = (rng or random).uniform(1 - WEBHOOK_RETRY_JITTER, 1 + WEBHOOK_RETRY_JITTER)
    return base * factor
