"""How events, webhook endpoints and deliveries look in the merchant API.

An event renders exactly as its webhook body (``webhook_services.event_payload``), so what a
receiver got and what ``GET /v1/events/{id}`` shows are the same object. An endpoint's
``secret`` appears only in the responses of creation and ``rotate_secret``.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from paysys.api.fields import MetadataField, ObjectSerializer
from paysys.events.models import (
    WEBHOOK_DESCRIPTION_MAX_LENGTH,
    WEBHOOK_URL_MAX_LENGTH,
    WebhookDelivery,
    WebhookEndpoint,
)
from paysys.events.types import ENABLED_EVENT_CHOICES, EVENT_TYPE_CHOICES
from paysys.events.webhook_services import MAX_ENABLED_EVENTS, event_payload

EVENT_TYPE_MAX_LENGTH = 100


@extend_schema_field({"type": "string", "enum": EVENT_TYPE_CHOICES})
class EventTypeField(serializers.CharField):
    """An event type; the schema lists every type paysys sends (``paysys.events.types``)."""


@extend_schema_field({"type": "string", "enum": ENABLED_EVENT_CHOICES, "maxLength": EVENT_TYPE_MAX_LENGTH})
class EnabledEventField(serializers.CharField):
    """An event type or ``*``: the schema lists them, the service refuses any other (a 400
    naming ``enabled_events``)."""


class EventOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`evt_…`; also the `webhook-id` header of its deliveries.")
    object = serializers.CharField(help_text="Always `event`.")
    type = EventTypeField(help_text="What happened: docs/webhooks.md says when each type is sent.")
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()
    data = serializers.DictField(help_text='`{"object": {...}}`: the object as the API showed it then.')

    def to_representation(self, instance):
        return event_payload(instance)


class EventResendInput(serializers.Serializer):
    webhook_endpoint = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Only to this endpoint (`we_…`); default: every subscribed one.",
    )


class WebhookEndpointCreateInput(serializers.Serializer):
    url = serializers.CharField(
        min_length=1,
        max_length=WEBHOOK_URL_MAX_LENGTH,
        help_text="http(s) URL resolving to public addresses only; anything else is a 400 naming `url`.",
    )
    enabled_events = serializers.ListField(
        child=EnabledEventField(max_length=EVENT_TYPE_MAX_LENGTH),
        min_length=1,
        max_length=MAX_ENABLED_EVENTS,
        help_text='Event types, or `["*"]` for all.',
    )
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=WEBHOOK_DESCRIPTION_MAX_LENGTH
    )
    metadata = MetadataField()


class WebhookEndpointUpdateInput(serializers.Serializer):
    url = serializers.CharField(required=False, min_length=1, max_length=WEBHOOK_URL_MAX_LENGTH)
    enabled_events = serializers.ListField(
        child=EnabledEventField(max_length=EVENT_TYPE_MAX_LENGTH),
        required=False,
        min_length=1,
        max_length=MAX_ENABLED_EVENTS,
    )
    status = serializers.ChoiceField(choices=WebhookEndpoint.Status.choices, required=False)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=WEBHOOK_DESCRIPTION_MAX_LENGTH
    )
    metadata = MetadataField(default=None)


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


class WebhookEndpointWithSecretOutput(WebhookEndpointOutput):
    secret = serializers.SerializerMethodField(help_text="`whsec_…`: shown on creation and rotation only.")

    def get_secret(self, obj: WebhookEndpoint) -> str:
        return self.context["secret"]


class WebhookEndpointDeletedOutput(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(help_text="Always `webhook_endpoint`.")
    deleted = serializers.BooleanField()


class WebhookDeliveryOutput(ObjectSerializer):
    object_name = "webhook_delivery"

    event = serializers.CharField(source="event.public_id")
    event_type = serializers.CharField(source="event.type")
    webhook_endpoint = serializers.CharField(source="endpoint.public_id")
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
