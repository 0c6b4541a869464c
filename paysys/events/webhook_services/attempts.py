"""One attempt of one delivery: claim it, take a slot of its endpoint, POST, record the outcome.

An attempt runs in one transaction that holds the delivery's row lock (``SKIP LOCKED``) through
the HTTP request: a duplicate message for a delivery in flight skips at once, a finished or
not-yet-due delivery is skipped, and a worker killed mid-request drops its connection, which
releases the lock and leaves the delivery due for the sweeper. The outcome (the attempt row,
the delivery's next state, the endpoint's failing mark or disabling) is written in the same
transaction.
"""

import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from paysys import metrics
from paysys.events import persistence, signing
from paysys.events.delivery import (
    OUTCOME_REFUSED,
    OUTCOME_SUCCEEDED,
    OUTCOME_TIMEOUT,
    SendResult,
    webhook_post,
)
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from paysys.events.persistence import Claim
from paysys.events.webhook_services.dispatch import dispatch_on_commit
from paysys.events.webhook_services.endpoints import endpoint_disable_automatically
from paysys.events.webhook_services.payloads import event_body
from paysys.events.webhook_services.policy import (
    RESULT_ABANDONED,
    RESULT_DELIVERED,
    RESULT_ENDPOINT_BUSY,
    RESULT_MISSING,
    RESULT_RETRY_SCHEDULED,
    RESULT_SKIPPED_DONE,
    RESULT_SKIPPED_LOCKED,
    RESULT_SKIPPED_NOT_DUE,
    UNFINISHED,
    WEBHOOK_BUSY_DELAY,
    WEBHOOK_DISABLE_AFTER,
    WEBHOOK_SLOT_POLL_SECONDS,
    WEBHOOK_SLOT_WAIT,
    max_in_flight,
    retry_delay,
)

_Metric = tuple[str, float | None]
# What sends one signed request: ``webhook_post`` (HTTP), or a stand-in receiver that answers
# like one (the demo history of ``manage.py seed_demo``) with the same keyword arguments.
Post = Callable[..., SendResult]


def _slots() -> list[int]:
    """The endpoint's slots in the order to try them."""
    slots = max(1, max_in_flight())
    # Start at a random slot: concurrent deliveries then rarely contend for the same one.
    first = random.randrange(slots)
    return [(first + offset) % slots for offset in range(slots)]


def _delivery_claim(
    *, delivery_id: int | None, now: datetime, skip_endpoints: Iterable[int] = ()
) -> Claim | None:
    return persistence.delivery_claim(
        delivery_id=delivery_id, now=now, slots=_slots(), skip_endpoints=skip_endpoints
    )


def endpoint_slot_acquire(endpoint_pk: int) -> bool:
    """Take one of the endpoint's in-flight slots for the rest of this transaction.

    Tries every slot, for at most ``WEBHOOK_SLOT_WAIT``; False when all stayed taken. The claim
    already tried each slot once; this is the wait that follows.
    """
    deadline = time.monotonic() + WEBHOOK_SLOT_WAIT.total_seconds()
    while True:
        if persistence.endpoint_slot_try(endpoint_pk=endpoint_pk, slots=_slots()):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(WEBHOOK_SLOT_POLL_SECONDS)


def _signing_secrets(claim: Claim, now: datetime) -> list[str]:
    secrets_ = [signing.secret_decrypt(claim.secret_encrypted)]
    if (
        claim.previous_secret_encrypted
        and claim.previous_secret_expires_at is not None
        and claim.previous_secret_expires_at > now
    ):
        secrets_.append(signing.secret_decrypt(claim.previous_secret_encrypted))
    return secrets_


def webhook_deliver(*, delivery_id: int) -> str:
    """Make the next attempt of one delivery, if it is due and no one else is making it.

    Holds the delivery's row lock through the HTTP request (bounded by the connect and read
    timeouts), then records the attempt and its consequences in the same transaction.
    ``webhook_deliver_batch`` (the Celery task's entry point) runs this for each id it is given.
    """
    now = timezone.now()
    with transaction.atomic(durable=True):
        claim = _delivery_claim(delivery_id=delivery_id, now=now)
        if claim is None:
            exists = WebhookDelivery.objects.filter(pk=delivery_id).exists()
            return RESULT_SKIPPED_LOCKED if exists else RESULT_MISSING
        result, metric = _attempt(claim, now=now, wait_for_slot=True, post=webhook_post)
    _metric_record(metric)
    return result


class ClaimedAttemptError(Exception):
    """An attempt of a claimed delivery raised; carries its endpoint so a drain can skip it."""

    def __init__(self, endpoint_pk: int) -> None:
        super().__init__(endpoint_pk)
        self.endpoint_pk = endpoint_pk


def deliver_next_due(*, skip_endpoints: Iterable[int], post: Post | None = None) -> tuple[str, int] | None:
    """Make the attempt of the longest-waiting due delivery nobody holds: (result, its endpoint).

    None when nothing is due (or everything due is held, or belongs to ``skip_endpoints``). An
    endpoint whose slots are all taken is not waited for: its delivery is put back at once.
    ``post`` sends the request (``webhook_post`` when None).
    """
    now = timezone.now()
    with transaction.atomic(durable=True):
        claim = _delivery_claim(delivery_id=None, now=now, skip_endpoints=skip_endpoints)
        if claim is None:
            return None
        try:
            result, metric = _attempt(claim, now=now, wait_for_slot=False, post=post or webhook_post)
        except Exception as exc:
            raise ClaimedAttemptError(claim.endpoint_pk) from exc
    _metric_record(metric)
    return result, claim.endpoint_pk


def _attempt(claim: Claim, *, now: datetime, wait_for_slot: bool, post: Post) -> tuple[str, _Metric | None]:
    """The attempt of a claimed delivery, in the claim's transaction: (result, metric to record)."""
    if claim.status not in UNFINISHED:
        return RESULT_SKIPPED_DONE, None
    if claim.next_attempt_at is not None and claim.next_attempt_at > now:
        return RESULT_SKIPPED_NOT_DUE, None
    if not claim.endpoint_usable:
        WebhookDelivery.objects.filter(pk=claim.delivery_id).update(
            status=WebhookDelivery.Status.ABANDONED,
            next_attempt_at=None,
            dispatched_at=None,
            completed_at=now,
        )
        return RESULT_ABANDONED, None
    if not claim.slot_taken and not (wait_for_slot and endpoint_slot_acquire(claim.endpoint_pk)):
        WebhookDelivery.objects.filter(pk=claim.delivery_id).update(
            next_attempt_at=now + WEBHOOK_BUSY_DELAY, dispatched_at=now
        )
        dispatch_on_commit([claim.delivery_id], countdown=WEBHOOK_BUSY_DELAY.total_seconds())
        return RESULT_ENDPOINT_BUSY, None

    body = event_body(claim.event)
    headers = signing.headers_build(
        msg_id=claim.event.public_id,
        timestamp=int(now.timestamp()),
        body=body,
        secrets_=_signing_secrets(claim, now),
    )
    sent = post(url=claim.url, headers=headers, body=body)
    finished_at = timezone.now()
    attempt_count = claim.attempt_count + 1
    seconds = sent.latency_ms / 1000 if sent.status_code is not None and sent.latency_ms is not None else None
    disable_reason: str | None = None
    next_attempt_at: datetime | None = None
    if sent.outcome == OUTCOME_SUCCEEDED:
        status, result = WebhookDelivery.Status.SUCCEEDED, RESULT_DELIVERED
        metric: _Metric = (OUTCOME_SUCCEEDED, seconds)
    elif sent.status_code == 410:
        status, result = WebhookDelivery.Status.ABANDONED, RESULT_ABANDONED
        disable_reason = WebhookEndpoint.DisabledReason.GONE
        metric = ("failed", seconds)
    else:
        metric = (sent.outcome if sent.outcome in (OUTCOME_TIMEOUT, OUTCOME_REFUSED) else "failed", seconds)
        failing_since = _endpoint_failing_since(claim, now=finished_at)
        delay = retry_delay(attempt_count)
        if failing_since is not None and finished_at - failing_since >= WEBHOOK_DISABLE_AFTER:
            status, result = WebhookDelivery.Status.ABANDONED, RESULT_ABANDONED
            disable_reason = WebhookEndpoint.DisabledReason.FAILING
        elif delay is None:
            status, result = WebhookDelivery.Status.ABANDONED, RESULT_ABANDONED
        else:
            status, result = WebhookDelivery.Status.FAILED, RESULT_RETRY_SCHEDULED
            next_attempt_at = finished_at + delay
    _attempt_record(
        claim,
        sent=sent,
        at=finished_at,
        status=status,
        attempt_count=attempt_count,
        next_attempt_at=next_attempt_at,
    )
    if status == WebhookDelivery.Status.SUCCEEDED and claim.failing_since is not None:
        # Only the first success after failures writes the endpoint row: a healthy endpoint's
        # row is neither written nor locked by its deliveries.
        WebhookEndpoint.objects.filter(pk=claim.endpoint_pk, failing_since__isnull=False).update(
            failing_since=None
        )
    if disable_reason is not None:
        endpoint_disable_automatically(endpoint_pk=claim.endpoint_pk, reason=disable_reason, now=finished_at)
    return result, metric


def _endpoint_failing_since(claim: Claim, *, now: datetime) -> datetime | None:
    """Since when the endpoint has failed, marking it failing from ``now`` if it was not."""
    if claim.failing_since is not None and now - claim.failing_since < WEBHOOK_DISABLE_AFTER:
        return claim.failing_since  # already failing, and not for long enough to matter: no write
    # Only the first failure after a success writes the endpoint row; read it back, because a
    # success may have cleared it since the claim (the 3-day rule must not act on a stale value).
    WebhookEndpoint.objects.filter(pk=claim.endpoint_pk, failing_since__isnull=True).update(failing_since=now)
    return (
        WebhookEndpoint.objects.filter(pk=claim.endpoint_pk).values_list("failing_since", flat=True).first()
    )


def _attempt_record(
    claim: Claim,
    *,
    sent: SendResult,
    at: datetime,
    status: str,
    attempt_count: int,
    next_attempt_at: datetime | None,
) -> None:
    finished = status in (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.ABANDONED)
    persistence.attempt_record(
        delivery_id=claim.delivery_id,
        sent=sent,
        at=at,
        status=status,
        attempt_count=attempt_count,
        next_attempt_at=next_attempt_at,
        completed_at=at if finished else None,
    )


def _metric_record(metric: _Metric | None) -> None:
    if metric is not None:
        metrics.webhook_delivery_record(outcome=metric[0], seconds=metric[1])
