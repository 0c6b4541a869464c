"""What webhooks carry and the API shows: an event, its exact body, an endpoint."""

import json
from datetime import UTC, datetime
from typing import Any

from paysys.events.models import Event, WebhookEndpoint


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(event: Event) -> dict[str, Any]:
    """The event as the API shows it (``GET /v1/events/{id}``) and as webhooks carry it."""
    return {
        "id": event.public_id,
        "object": "event",
        "type": event.type,
        "created": _iso(event.created),
        "livemode": event.livemode,
        "data": event.data,
    }


def event_body(event: Event) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, the same on every attempt."""
    return json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=False).encode()


def webhook_endpoint_payload(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    """The endpoint as the API shows it; ``secret`` only on creation and rotation."""
    payload: dict[str, Any] = {
        "id": endpoint.public_id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": list(endpoint.enabled_events),
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason or None,
        "livemode": endpoint.livemode,
        "metadata": endpoint.metadata,
        "created": _iso(endpoint.created),
    }
    if secret is not None:
        payload["secret"] = secret
    return payload
