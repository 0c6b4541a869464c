"""Webhook endpoints: a merchant registers, changes, disables, enables and deletes them; an
endpoint that is gone (410) or has failed for ``WEBHOOK_DISABLE_AFTER`` is disabled for them.

Lock order: an endpoint's services lock the endpoint row and touch its deliveries with
``SKIP LOCKED`` only, so they never wait on an attempt (which locks its delivery, then the
endpoint).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from paysys import metrics
from paysys.errors import InvalidRequestError, NotFoundError
from paysys.events import signing
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from paysys.events.serializers import webhook_endpoint_object
from paysys.events.services import event_emit
from paysys.events.ssrf import url_validate
from paysys.events.types import ENDPOINT_DISABLED_EVENT, WILDCARD_EVENT
from paysys.events.webhook_services.policy import (
    MAX_ENABLED_EVENTS,
    UNFINISHED,
    WEBHOOK_EVENT_TYPES,
    WEBHOOK_SECRET_ROTATION_OVERLAP,
)
from paysys.tenancy import Tenant

logger = logging.getLogger(__name__)


def _enabled_events_clean(enabled_events: Sequence[str]) -> list[str]:
    if not isinstance(enabled_events, list | tuple) or not enabled_events:
        raise InvalidRequestError(
            "enabled_events must be a non-empty list of event types, or ['*'].", param="enabled_events"
        )
    if len(enabled_events) > MAX_ENABLED_EVENTS:
        raise InvalidRequestError(
            f"enabled_events holds at most {MAX_ENABLED_EVENTS} types.", param="enabled_events"
        )
    cleaned: list[str] = []
    for value in enabled_events:
        if not isinstance(value, str) or (value != WILDCARD_EVENT and value not in WEBHOOK_EVENT_TYPES):
            raise InvalidRequestError(f"Unknown event type: {value!r}.", param="enabled_events")
        if value not in cleaned:
            cleaned.append(value)
    if WILDCARD_EVENT in cleaned:
        return [WILDCARD_EVENT]
    return cleaned


def endpoint_matches(endpoint: WebhookEndpoint, event_type: str) -> bool:
    events = endpoint.enabled_events or []
    return WILDCARD_EVENT in events or event_type in events


def _endpoint_lock(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    endpoint = (
        tenant.scope(WebhookEndpoint.objects.select_for_update(of=("self",)))
        .filter(public_id=endpoint_id, deleted_at__isnull=True)
        .first()
    )
    if endpoint is None:
        raise NotFoundError(f"No such webhook endpoint: '{endpoint_id}'", param="id")
    return endpoint


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str


def webhook_endpoint_create(
    *,
    merchant_id: str,
    url: str,
    enabled_events: Sequence[str],
    description: str = "",
    metadata: dict[str, str] | None = None,
    livemode: bool = False,
) -> EndpointWithSecret:
    """Register an endpoint; the returned secret is shown to the merchant this once."""
    url = url_validate(url)
    events = _enabled_events_clean(enabled_events)
    secret = signing.secret_generate()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            merchant_id=merchant_id,
            url=url,
            enabled_events=events,
            description=description,
            metadata=metadata or {},
            livemode=livemode,
            secret_encrypted=signing.secret_encrypt(secret),
            created=timezone.now(),  # read at call time, like ``auto_now_add`` fields
        )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def webhook_endpoint_update(
    *,
    tenant: Tenant,
    endpoint_id: str,
    url: str | None = None,
    enabled_events: Sequence[str] | None = None,
    status: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> WebhookEndpoint:
    """PATCH: change the URL (checked again), the subscribed types or the status."""
    if url is not None:
        url = url_validate(url)
    events = _enabled_events_clean(enabled_events) if enabled_events is not None else None
    if status is not None and status not in WebhookEndpoint.Status.values:
        raise InvalidRequestError("status must be 'enabled' or 'disabled'.", param="status")
    with transaction.atomic():
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
        if url is not None:
            endpoint.url = url
        if events is not None:
            endpoint.enabled_events = events
        if description is not None:
            endpoint.description = description
        if metadata is not None:
            endpoint.metadata = metadata
        if status == WebhookEndpoint.Status.ENABLED:
            endpoint_set_enabled(endpoint)
        elif status == WebhookEndpoint.Status.DISABLED and endpoint.status == WebhookEndpoint.Status.ENABLED:
            _endpoint_set_disabled(endpoint, reason=WebhookEndpoint.DisabledReason.MERCHANT)
        endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    """Delete: the endpoint disappears from the API, its unfinished deliveries are abandoned."""
    with transaction.atomic():
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
        now = timezone.now()
        endpoint.deleted_at = now
        if endpoint.status == WebhookEndpoint.Status.ENABLED:
            endpoint.status = WebhookEndpoint.Status.DISABLED
            endpoint.disabled_reason = WebhookEndpoint.DisabledReason.MERCHANT
        endpoint.save()
        deliveries_abandon(endpoint_pk=endpoint.pk, now=now)
    return endpoint


def webhook_endpoint_rotate_secret(*, tenant: Tenant, endpoint_id: str) -> EndpointWithSecret:
    """A new secret; the current one keeps signing (second signature) for 24 hours."""
    secret = signing.secret_generate()
    with transaction.atomic():
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = timezone.now() + WEBHOOK_SECRET_ROTATION_OVERLAP
        endpoint.secret_encrypted = signing.secret_encrypt(secret)
        endpoint.save()
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def webhook_endpoint_disable(
    *, tenant: Tenant, endpoint_id: str, reason: str = "operator"
) -> WebhookEndpoint:
    """Disable an endpoint (operators, the admin). No event: the merchant or an operator chose it."""
    if reason not in WebhookEndpoint.DisabledReason.values or not reason:
        raise InvalidRequestError(f"Unknown disable reason {reason!r}.", param="reason")
    with transaction.atomic():
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
        if endpoint.status == WebhookEndpoint.Status.DISABLED:
            return endpoint
        _endpoint_set_disabled(endpoint, reason=reason)
        endpoint.save()
    return endpoint


def webhook_endpoint_enable(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    """Enable again; deliveries abandoned meanwhile stay abandoned (resend them if wanted)."""
    with transaction.atomic():
        endpoint = _endpoint_lock(tenant=tenant, endpoint_id=endpoint_id)
        if endpoint.status != WebhookEndpoint.Status.ENABLED:
            endpoint_set_enabled(endpoint)
            endpoint.save()
    return endpoint


def endpoint_set_enabled(endpoint: WebhookEndpoint) -> None:
    """Enabled, with no disable reason and no failure streak (the caller saves it)."""
    endpoint.status = WebhookEndpoint.Status.ENABLED
    endpoint.disabled_reason = WebhookEndpoint.DisabledReason.NONE
    endpoint.failing_since = None


def _endpoint_set_disabled(endpoint: WebhookEndpoint, *, reason: str) -> None:
    endpoint.status = WebhookEndpoint.Status.DISABLED
    endpoint.disabled_reason = reason


def deliveries_abandon(*, endpoint_pk: int, now: datetime) -> int:
    """Abandon an endpoint's unfinished deliveries that no worker holds right now.

    One in flight (locked) is left alone: it records its attempt and, on its next run, finds the
    endpoint disabled and abandons itself.
    """
    with transaction.atomic(savepoint=False):
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(endpoint_id=endpoint_pk, status__in=UNFINISHED)
            .values_list("pk", flat=True)
        )
        return WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDelivery.Status.ABANDONED, next_attempt_at=None, completed_at=now
        )


def endpoint_disable_automatically(*, endpoint_pk: int, reason: str, now: datetime) -> bool:
    """Disable for ``gone`` / ``failing`` and tell the merchant with an event; joins the caller.

    True when this call disabled it (it was enabled).
    """
    with transaction.atomic(savepoint=False):
        endpoint = (
            WebhookEndpoint.objects.select_for_update(of=("self",))
            .filter(pk=endpoint_pk, status=WebhookEndpoint.Status.ENABLED)
            .first()
        )
        if endpoint is None:
            return False
        _endpoint_set_disabled(endpoint, reason=reason)
        endpoint.save()
        deliveries_abandon(endpoint_pk=endpoint.pk, now=now)
        event_emit(
            event_type=ENDPOINT_DISABLED_EVENT,
            merchant_id=endpoint.merchant_id,
            object_type="webhook_endpoint",
            data={"object": webhook_endpoint_object(endpoint)},
            livemode=endpoint.livemode,
        )
        metrics.webhook_delivery_record(outcome="endpoint_disabled")
    logger.warning("webhook endpoint disabled", extra={"endpoint": endpoint.public_id, "reason": reason})
    return True
