"""Events and webhook endpoints in the merchant API (API.md, "Events and webhooks").

Thin adapters over ``paysys.events`` services and selectors, every lookup scoped to the key's
merchant, so another merchant's ``evt_`` / ``we_`` id is a 404 like an unknown one.
"""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response

from paysys.api.filters import ListFilterSet
from paysys.api.pagination import list_body
from paysys.api.schema import IDEMPOTENCY_KEY_PARAMETER, list_of, responses
from paysys.api.views import PaysysApiView
from paysys.events import webhook_services
from paysys.events.api.serializers import (
    EventResendInput,
    WebhookDeliveryOutput,
    WebhookEndpointCreateInput,
    WebhookEndpointDeletedOutput,
    WebhookEndpointUpdateInput,
    WebhookEndpointWithSecretOutput,
)
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from paysys.events.selectors import event_get, event_list
from paysys.events.serializers import EventOutput, WebhookEndpointOutput
from paysys.events.types import EVENT_TYPE_CHOICES
from paysys.events.webhook_selectors import webhook_delivery_list, webhook_endpoint_get, webhook_endpoint_list

TAG = "Events and webhooks"


class EventFilterSet(ListFilterSet):
    type = django_filters.ChoiceFilter(field_name="type", choices=[(t, t) for t in EVENT_TYPE_CHOICES])


class WebhookEndpointFilterSet(ListFilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=WebhookEndpoint.Status.choices)


class WebhookDeliveryFilterSet(ListFilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=WebhookDelivery.Status.choices)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="events_list",
        summary="List the merchant's events, newest first",
        responses=responses({200: EventOutput(many=True)}),
    )
)
class EventListApi(PaysysApiView, ListAPIView):
    serializer_class = EventOutput
    filterset_class = EventFilterSet

    def get_queryset(self):
        return event_list(tenant=self.caller.tenant)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="events_retrieve",
        summary="Retrieve an event",
        responses=responses({200: EventOutput}),
    )
)
class EventDetailApi(PaysysApiView, RetrieveAPIView):
    serializer_class = EventOutput

    def get_object(self):
        return event_get(event_id=self.kwargs["event_id"], tenant=self.caller.tenant)


class EventResendApi(PaysysApiView):
    serializer_class = WebhookDeliveryOutput

    @extend_schema(
        tags=[TAG],
        operation_id="events_resend",
        summary="Deliver an event again (same webhook-id), to one endpoint or all subscribed ones",
        request=EventResendInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({200: list_of(WebhookDeliveryOutput, "WebhookDeliveryResendList")}, write=True),
    )
    def post(self, request, event_id: str):
        data = self.parse(EventResendInput)
        deliveries = webhook_services.webhook_resend(
            tenant=self.caller.tenant, event_id=event_id, endpoint_id=data.get("webhook_endpoint")
        )
        rendered = self.get_serializer(deliveries, many=True).data
        return Response(list_body(rendered, has_more=False))


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="webhook_endpoints_list",
        summary="List the merchant's webhook endpoints",
        responses=responses({200: WebhookEndpointOutput(many=True)}),
    )
)
class WebhookEndpointListCreateApi(PaysysApiView, ListAPIView):
    serializer_class = WebhookEndpointOutput
    filterset_class = WebhookEndpointFilterSet

    def get_queryset(self):
        return webhook_endpoint_list(tenant=self.caller.tenant)

    @extend_schema(
        tags=[TAG],
        operation_id="webhook_endpoints_create",
        summary="Register a webhook endpoint; its secret is shown in this response only",
        request=WebhookEndpointCreateInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({201: WebhookEndpointWithSecretOutput}, write=True),
    )
    def post(self, request):
        data = self.parse(WebhookEndpointCreateInput)
        created = webhook_services.webhook_endpoint_create(
            merchant_id=self.caller.merchant_id,
            url=data["url"],
            enabled_events=data["enabled_events"],
            description=data["description"],
            metadata=data["metadata"],
            livemode=self.caller.livemode,
        )
        return Response(_with_secret(self, created), status=201)


def _with_secret(view: PaysysApiView, created: webhook_services.EndpointWithSecret) -> dict:
    """The endpoint with its new secret: the responses of creation and rotation only."""
    context = {**view.get_serializer_context(), "secret": created.secret}
    return WebhookEndpointWithSecretOutput(created.endpoint, context=context).data


# The webhook endpoint named in the path (``endpoint_id``), among the key's.
class WebhookEndpointApi(PaysysApiView):
    serializer_class = WebhookEndpointOutput

    def get_object(self):
        return webhook_endpoint_get(tenant=self.caller.tenant, endpoint_id=self.kwargs["endpoint_id"])


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="webhook_endpoints_retrieve",
        summary="Retrieve a webhook endpoint (without its secret)",
        responses=responses({200: WebhookEndpointOutput}),
    )
)
class WebhookEndpointDetailApi(WebhookEndpointApi, RetrieveAPIView):
    @extend_schema(
        tags=[TAG],
        operation_id="webhook_endpoints_update",
        summary="Change an endpoint's url, enabled_events or status",
        request=WebhookEndpointUpdateInput,
        responses=responses({200: WebhookEndpointOutput}, write=True),
    )
    def patch(self, request, endpoint_id: str):
        data = self.parse(WebhookEndpointUpdateInput)
        endpoint = webhook_services.webhook_endpoint_update(
            tenant=self.caller.tenant,
            endpoint_id=endpoint_id,
            url=data.get("url"),
            enabled_events=data.get("enabled_events"),
            status=data.get("status"),
            description=data.get("description"),
            metadata=data.get("metadata"),
        )
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(
        tags=[TAG],
        operation_id="webhook_endpoints_delete",
        summary="Delete a webhook endpoint; its pending deliveries are abandoned",
        responses=responses({200: WebhookEndpointDeletedOutput}, write=True),
    )
    def delete(self, request, endpoint_id: str):
        endpoint = webhook_services.webhook_endpoint_delete(
            tenant=self.caller.tenant, endpoint_id=endpoint_id
        )
        return Response(WebhookEndpointDeletedOutput(endpoint).data)


class WebhookEndpointRotateSecretApi(PaysysApiView):
    @extend_schema(
        tags=[TAG],
        operation_id="webhook_endpoints_rotate_secret",
        summary="New signing secret; the old one also signs (second signature) for 24 hours",
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({200: WebhookEndpointWithSecretOutput}, write=True),
    )
    def post(self, request, endpoint_id: str):
        rotated = webhook_services.webhook_endpoint_rotate_secret(
            tenant=self.caller.tenant, endpoint_id=endpoint_id
        )
        return Response(_with_secret(self, rotated))


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="webhook_endpoints_deliveries_list",
        summary="List an endpoint's deliveries, newest first",
        responses=responses({200: WebhookDeliveryOutput(many=True)}),
    )
)
class WebhookEndpointDeliveryListApi(PaysysApiView, ListAPIView):
    serializer_class = WebhookDeliveryOutput
    filterset_class = WebhookDeliveryFilterSet

    def get_queryset(self):
        return webhook_delivery_list(tenant=self.caller.tenant, endpoint_id=self.kwargs["endpoint_id"])
