"""Reading webhook endpoints and deliveries, always scoped to one tenant (a merchant in one mode,
``paysys.tenancy``): another merchant's endpoint, or one of the other mode, is reported exactly
like a missing one. Deleted endpoints are invisible to merchants."""

from django.db.models import QuerySet

from paysys.errors import NotFoundError
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from paysys.tenancy import Tenant


def webhook_endpoint_list(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return tenant.scope(WebhookEndpoint.objects.filter(deleted_at__isnull=True)).order_by("-pk")


def webhook_endpoint_get(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    endpoint = webhook_endpoint_list(tenant=tenant).filter(public_id=endpoint_id).first()
    if endpoint is None:
        raise NotFoundError(f"No such webhook endpoint: '{endpoint_id}'", param="id")
    return endpoint


def webhook_delivery_list(*, tenant: Tenant, endpoint_id: str) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries, newest first, with their event and endpoint ids joined in."""
    endpoint = webhook_endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event", "endpoint")
        .only(
            "public_id",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "completed_at",
            "created",
            "event__public_id",
            "event__type",
            "endpoint__public_id",
            "endpoint__livemode",
        )
        .order_by("-pk")
    )
