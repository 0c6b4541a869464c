"""What webhooks carry: an event's exact body (its rendering is ``paysys.events.serializers``)."""

import json

from paysys.events.models import Event
from paysys.events.serializers import event_payload


def event_body(event: Event) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, the same on every attempt."""
    return json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=False).encode()
