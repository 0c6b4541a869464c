"""Webhook delivery: endpoints, fan-out, attempts, retries, the sweeper. Every write is here.

Guarantees
* **At least once.** Each committed event owes one ``WebhookDelivery`` per matching enabled
  endpoint (unique per event and endpoint). The delivery row, not the Celery message, is the
  truth: a message only wakes a worker up; ``webhook_sweep`` re-queues any delivery that is
  due and has no message in flight (never sent, or sent ``WEBHOOK_REDISPATCH_AFTER`` ago and
  still not done), so a lost message or a killed worker delays a webhook and never loses it.
* **Same ``webhook-id`` on every try.** The id is the event's ``evt_`` id; receivers dedupe on it.
* **One attempt at a time per delivery.** ``webhook_deliver`` locks the delivery row with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` and holds it through the HTTP request: a duplicate
  message for a delivery in flight skips at once, a finished or not-yet-due delivery is
  skipped, and a worker killed mid-request drops its connection, which releases the lock and
  leaves the delivery due for the sweeper.
* **Fairness.** At most ``PAYSYS_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT`` requests per endpoint at
  once (PostgreSQL advisory locks, one per slot); a delivery that finds every slot taken is put
  back a moment later without counting an attempt, so a slow receiver holds only its own slots
  and never every worker of the ``webhooks`` queue. Timeouts bound each slot's time.

Retries: 2xx is success. 410 disables the endpoint at once. Anything else (another status, a
timeout, a refused connection, an address the SSRF guard refuses) is retried after
``WEBHOOK_RETRY_DELAYS[n]`` times a random factor in [1 - JITTER, 1 + JITTER]: about 2.9 days over
11 attempts, then the delivery is abandoned. An endpoint whose attempts have all failed for
``WEBHOOK_DISABLE_AFTER`` (3 days) is disabled and the merchant gets a
``webhook_endpoint.disabled`` event.

Lock order: delivery row, then its endpoint row. Services that start from the endpoint (disable,
delete) touch its deliveries with ``SKIP LOCKED`` only, so the two orders never wait on each other.

Modules, by use case: ``endpoints`` (a merchant's endpoints), ``fanout`` (an event's
deliveries), ``attempts`` (one attempt of one delivery), ``batches`` (a Celery message's work
on the delivery threads), ``sweep`` (the sweeper, resend), ``operators`` (an operator's
re-enable and resend, audited); ``policy`` holds the numbers,
``payloads`` what is sent, ``dispatch`` the Celery messages. Their SQL is in
``paysys.events.persistence``. Callers import the names below from this package.
"""

from paysys.events.webhook_services.attempts import Post, deliver_next_due, webhook_deliver
from paysys.events.webhook_services.batches import webhook_deliver_batch
from paysys.events.webhook_services.endpoints import (
    EndpointWithSecret,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from paysys.events.webhook_services.fanout import webhook_fanout, webhook_fanout_missed
from paysys.events.webhook_services.operators import webhook_delivery_resend, webhook_endpoint_reenable
from paysys.events.webhook_services.policy import (
    MAX_ENABLED_EVENTS,
    MAX_WEBHOOK_ATTEMPTS,
    RESULT_ABANDONED,
    RESULT_DELIVERED,
    RESULT_ENDPOINT_BUSY,
    RESULT_MISSING,
    RESULT_RETRY_SCHEDULED,
    RESULT_SKIPPED_DONE,
    RESULT_SKIPPED_LOCKED,
    RESULT_SKIPPED_NOT_DUE,
    WEBHOOK_DISABLE_AFTER,
    WEBHOOK_REDISPATCH_AFTER,
    WEBHOOK_RETRY_DELAYS,
    WEBHOOK_RETRY_JITTER,
    retry_delay,
)
from paysys.events.webhook_services.sweep import (
    SweepResult,
    webhook_requeue_due,
    webhook_resend,
    webhook_retry_due,
    webhook_sweep,
)

__all__ = [
    "MAX_ENABLED_EVENTS",
    "MAX_WEBHOOK_ATTEMPTS",
    "RESULT_ABANDONED",
    "RESULT_DELIVERED",
    "RESULT_ENDPOINT_BUSY",
    "RESULT_MISSING",
    "RESULT_RETRY_SCHEDULED",
    "RESULT_SKIPPED_DONE",
    "RESULT_SKIPPED_LOCKED",
    "RESULT_SKIPPED_NOT_DUE",
    "WEBHOOK_DISABLE_AFTER",
    "WEBHOOK_REDISPATCH_AFTER",
    "WEBHOOK_RETRY_DELAYS",
    "WEBHOOK_RETRY_JITTER",
    "EndpointWithSecret",
    "Post",
    "SweepResult",
    "deliver_next_due",
    "retry_delay",
    "webhook_deliver",
    "webhook_deliver_batch",
    "webhook_delivery_resend",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_disable",
    "webhook_endpoint_enable",
    "webhook_endpoint_reenable",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_update",
    "webhook_fanout",
    "webhook_fanout_missed",
    "webhook_requeue_due",
    "webhook_resend",
    "webhook_retry_due",
    "webhook_sweep",
]
