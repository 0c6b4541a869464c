"""Events and webhook endpoints as the API shows them: one rendering for responses and webhooks.

An event renders exactly as its webhook body (``event_payload``, whose compact JSON is what is
POSTed and signed), so what a receiver got and what ``GET /v1/events/{id}`` shows are the same
object. The ``webhook_endpoint.disabled`` event carries ``webhook_endpoint_object(endpoint)``,
what ``GET /v1/webhook_endpoints/{id}`` shows. What the write endpoints accept is
``paysys.events.api.serializers``.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from paysys.api.fields import FixedCharField, MetadataField, ObjectSerializer
from paysys.events.models import Event, WebhookEndpoint
from paysys.events.types import ENABLED_EVENT_CHOICES, EVENT_TYPE_CHOICES

EVENT_TYPE_MAX_LENGTH = 100


@extend_schema_field({"type": "string", "enum": EVENT_TYPE_CHOICES})
class EventTypeField(serializers.CharField):
    """An event type; the schema lists every type paysys sends (``paysys.events.types``)."""


@extend_schema_field({"type": "string", "enum": ENABLED_EVENT_CHOICES, "maxLength": EVENT_TYPE_MAX_LENGTH})
class EnabledEventField(serializers.CharField):
    """An event type or ``*``: the schema lists them, the service refuses any other (a 400
    naming ``enabled_events``)."""


class EventOutput(serializers.Serializer):
    id = serializers.CharField(
        source="public_id", help_text="`evt_…`; also the `webhook-id` header of its deliveries."
    )
    object = FixedCharField("event", help_text="Always `event`.")
    type = EventTypeField(help_text="What happened: docs/webhooks.md says when each type is sent.")
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()
    data = serializers.DictField(help_text='`{"object": {...}}`: the object as the API showed it then.')


class WebhookEndpointOutput(ObjectSerializer):
    object_name = "webhook_endpoint"

    url = serializers.CharField()
    description = serializers.CharField()
    enabled_events = serializers.ListField(child=EnabledEventField())
    status = serializers.ChoiceField(choices=WebhookEndpoint.Status.choices)
    disabled_reason = serializers.SerializerMethodField(
        help_text="`merchant`, `operator`, `gone` (answered 410) or `failing` (failed for 3 days); null when enabled."
    )
    metadata = MetadataField()

    def get_disabled_reason(self, obj: WebhookEndpoint) -> str | None:
        return obj.disabled_reason or None


# One instance of each renders every webhook body and event payload: binding a serializer's
# fields (DRF deep-copies them for every new instance) costs about ten times the rendering, and
# ``to_representation`` keeps no state between objects.
_EVENT = EventOutput()
_WEBHOOK_ENDPOINT = WebhookEndpointOutput()


def event_payload(event: Event) -> dict[str, Any]:
    """The event as the API shows it (``GET /v1/events/{id}``) and as webhooks carry it."""
    return _EVENT.to_representation(event)


def webhook_endpoint_object(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return _WEBHOOK_ENDPOINT.to_representation(endpoint)
