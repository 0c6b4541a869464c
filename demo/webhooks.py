"""The demo merchant's two webhook endpoints and the receivers that answer them during seeding.

The history's deliveries go through the delivery service (``deliver_next_due``): claims, signing,
retries with back-off, the endpoint's failing mark; only the HTTP request is answered by a
stand-in (``DemoReceivers.post``), so seeding makes no network call and every run answers the
same. The shop's backend answers 2xx, except about one request in twenty (a 500, retried
later); the ERP sync has been down since ``ERP_DOWN_DAYS`` days before today (503), so it shows
as failing, not yet disabled (that takes ``WEBHOOK_DISABLE_AFTER``).

The endpoints' addresses are on localhost, where nothing listens: once the stack runs, the
worker's own attempts (new events, the ERP's retries) are refused, like a receiver that is down.
Registering a localhost address needs ``PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS`` (``make run`` sets
it); without it the history has no webhooks and says so.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.utils import timezone

from paysys.errors import InvalidRequestError
from paysys.events.delivery import OUTCOME_FAILED, OUTCOME_SUCCEEDED, SendResult
from paysys.events.models import WebhookEndpoint
from paysys.events.webhook_services import deliver_next_due, webhook_endpoint_create

SHOP_PATH = "/shop-backend/webhooks"
ERP_PATH = "/erp-sync/webhooks"
DEMO_RECEIVER_ADDRESS = "http://127.0.0.1:9"  # the discard port: nothing answers there
SHOP_EVENTS = (
    "payment.captured",
    "payment.failed",
    "payment.canceled",
    "refund.succeeded",
    "dispute.created",
    "dispute.closed",
)
ERP_EVENTS = ("payout.paid", "payout.failed", "settlement.completed")
ERP_DOWN_DAYS = 2
SHOP_FAILURE_RATE = 0.05


@dataclass(frozen=True)
class DemoEndpoints:
    pks: tuple[int, ...]


def demo_endpoints_ensure(*, merchant_id: str) -> DemoEndpoints | None:
    """The demo merchant's two endpoints, registered once; None if localhost URLs are refused."""
    existing = dict(
        WebhookEndpoint.objects.filter(
            merchant_id=merchant_id, url__startswith=DEMO_RECEIVER_ADDRESS, deleted_at__isnull=True
        ).values_list("url", "pk")
    )
    pks = []
    for path, events, description in (
        (SHOP_PATH, SHOP_EVENTS, "Shop backend"),
        (ERP_PATH, ERP_EVENTS, "ERP sync"),
    ):
        url = DEMO_RECEIVER_ADDRESS + path
        if url in existing:
            pks.append(existing[url])
            continue
        try:
            created = webhook_endpoint_create(
                merchant_id=merchant_id, url=url, enabled_events=list(events), description=description
            )
        except InvalidRequestError:
            return None
        pks.append(created.endpoint.pk)
    return DemoEndpoints(pks=tuple(pks))


class DemoReceivers:
    """Answers the demo endpoints' requests as their receivers would, from a seeded generator."""

    def __init__(self, *, rng: random.Random, erp_down_from: datetime) -> None:
        self._rng = rng
        self._erp_down_from = erp_down_from

    def post(self, *, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        latency_ms = self._rng.randint(40, 400)
        path = urlsplit(url).path
        if path == ERP_PATH and timezone.now() >= self._erp_down_from:
            status = 503
        elif path == SHOP_PATH and self._rng.random() < SHOP_FAILURE_RATE:
            status = 500
        else:
            status = 200
        ok = 200 <= status < 300
        return SendResult(
            outcome=OUTCOME_SUCCEEDED if ok else OUTCOME_FAILED,
            status_code=status,
            latency_ms=latency_ms,
            response_excerpt='{"received": true}' if ok else "Service Unavailable",
        )


def demo_deliveries_run(*, endpoints: DemoEndpoints, receivers: DemoReceivers) -> int:
    """Make every due attempt of the demo endpoints' deliveries now; returns how many were made."""
    others = list(WebhookEndpoint.objects.exclude(pk__in=endpoints.pks).values_list("pk", flat=True))
    made = 0
    while deliver_next_due(skip_endpoints=others, post=receivers.post) is not None:
        made += 1
    return made


def erp_down_from(today_midnight: datetime) -> datetime:
    return today_midnight - timedelta(days=ERP_DOWN_DAYS)
