from django.urls import path

from paysys.events.api.views import (
    EventDetailApi,
    EventListApi,
    EventResendApi,
    WebhookEndpointDeliveryListApi,
    WebhookEndpointDetailApi,
    WebhookEndpointListCreateApi,
    WebhookEndpointRotateSecretApi,
)

urlpatterns = [
    path("events", EventListApi.as_view(), name="events"),
    path("events/<str:event_id>", EventDetailApi.as_view(), name="event-detail"),
    path("events/<str:event_id>/resend", EventResendApi.as_view(), name="event-resend"),
    path("webhook_endpoints", WebhookEndpointListCreateApi.as_view(), name="webhook-endpoints"),
    path(
        "webhook_endpoints/<str:endpoint_id>",
        WebhookEndpointDetailApi.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhook_endpoints/<str:endpoint_id>/rotate_secret",
        WebhookEndpointRotateSecretApi.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhook_endpoints/<str:endpoint_id>/deliveries",
        WebhookEndpointDeliveryListApi.as_view(),
        name="webhook-endpoint-deliveries",
    ),
]
