"""What the merchant API's event and webhook endpoints accept, and the outputs only it shows.

Events and endpoints render through ``paysys.events.serializers``, the rendering their webhooks
carry. An endpoint's ``secret`` appears only in the responses of creation and ``rotate_secret``.
"""

from rest_framework import serializers

from paysys.api.fields import FixedBooleanField, FixedCharField, MetadataField, ObjectSerializer
from paysys.events.models import (
    WEBHOOK_DESCRIPTION_MAX_LENGTH,
    WEBHOOK_URL_MAX_LENGTH,
    WebhookDelivery,
    WebhookEndpoint,
)
from paysys.events.serializers import (
    EVENT_TYPE_MAX_LENGTH,
    EnabledEventField,
    WebhookEndpointOutput,
)
from paysys.events.webhook_services import MAX_ENABLED_EVENTS


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


class WebhookEndpointWithSecretOutput(WebhookEndpointOutput):
    secret = serializers.SerializerMethodField(help_text="`whsec_…`: shown on creation and rotation only.")

    def get_secret(self, obj: WebhookEndpoint) -> str:
        return self.context["secret"]


class WebhookEndpointDeletedOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = FixedCharField("webhook_endpoint", help_text="Always `webhook_endpoint`.")
    deleted = FixedBooleanField(True)


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
