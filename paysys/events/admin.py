"""Events and webhooks in the admin. An event is a record of what happened, never edited; a
webhook endpoint's signing secret is never shown. The two decisions taken here are actions asking
for a reason (``paysys.admin.actions``), each through its service
(``paysys.events.webhook_services.operators``): re-enable a disabled endpoint, resend a delivery.
An endpoint's page shows its latest deliveries and a delivery's page its latest attempts, each a
bounded read by index, never a count of them all."""

import json

from django.contrib import admin
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html

from paysys.admin.actions import confirmed_action, each_through
from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin, ServiceOnlyHistoryAdmin
from paysys.admin.changelist import UncountedChangeListMixin
from paysys.admin.search import ExactSearchMixin, choices_filter, date_range, exact_filter
from paysys.audit.admin_tools import ExactTextFilter
from paysys.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from paysys.events.types import EVENT_TYPE_CHOICES
from paysys.events.webhook_services import webhook_delivery_resend, webhook_endpoint_reenable

# How many of an endpoint's deliveries, and of a delivery's attempts, its page shows.
RECENT_ROWS = 20
ENDPOINT_DELIVERIES_TEMPLATE = "admin/events/endpoint_deliveries.html"
DELIVERY_ATTEMPTS_TEMPLATE = "admin/events/delivery_attempts.html"
DELIVERY_CHANGELIST = "admin:events_webhookdelivery_changelist"


def deliveries_url(endpoint: WebhookEndpoint) -> str:
    return f"{reverse(DELIVERY_CHANGELIST)}?endpoint={endpoint.public_id}"


class EventMerchantFilter(ExactTextFilter):
    title = "merchant"
    parameter_name = "merchant"
    field = "merchant_id"
    placeholder = "mer_..."


class EventObjectFilter(ExactTextFilter):
    title = "object id"
    parameter_name = "object"
    field = "object_id"
    placeholder = "pay_..., re_..., po_..."


@admin.register(Event)
class EventAdmin(UncountedChangeListMixin, ReadOnlyAdminMixin, ServiceOnlyAdmin):
    list_display = ("public_id", "type", "merchant_id", "object_type", "object_id", "livemode", "created")
    list_filter = (
        choices_filter("type", title="type", values=EVENT_TYPE_CHOICES),
        "livemode",
        EventMerchantFilter,
        EventObjectFilter,
        date_range(),
    )
    search_fields = ("=public_id", "=object_id", "=merchant_id", "=correlation_id")
    ordering = ("-id",)
    fields = (
        "public_id",
        "type",
        "created",
        "livemode",
        "merchant_id",
        "object_type",
        "object_id",
        "correlation_id",
        "data_pretty",
    )
    readonly_fields = ("data_pretty",)

    @admin.display(description="data")
    def data_pretty(self, obj: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True))


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(
    UncountedChangeListMixin, ExactSearchMixin, ReadOnlyAdminMixin, ServiceOnlyHistoryAdmin
):
    """A merchant's endpoints; the merchant changes them through the API, operators re-enable."""

    # What an operator looks for first stands first: the list is wider than the page.
    list_display = ("public_id", "state", "last_delivery", "failing_since", "merchant_id", "url")
    list_filter = (
        "status",
        "disabled_reason",
        "livemode",
        exact_filter("merchant_id", title="merchant", parameter="merchant", placeholder="mer_..."),
        ("deleted_at", admin.EmptyFieldListFilter),
        date_range(),
    )
    search_fields = ("=public_id",)
    search_help_text = "An endpoint or merchant id (we_…, mer_…)."
    search_by_prefix = {"we": "public_id", "mer": "merchant_id"}
    # Never the signing secrets (encrypted or not): they are not in ``fields``.
    fields = (
        "public_id",
        "merchant_id",
        "url",
        "description",
        "enabled_events",
        "status",
        "disabled_reason",
        "failing_since",
        "livemode",
        "metadata",
        "created",
        "updated",
        "deleted_at",
        "delivery_log",
    )
    # All of them, also on simple-history's page of a past version (its form has no field).
    readonly_fields = fields
    actions = ["reenable"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        # The latest delivery of each endpoint on the page: one index probe per row, no count.
        latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-id")
        return (
            super()
            .get_queryset(request)
            .defer("secret_encrypted", "previous_secret_encrypted")
            .annotate(
                last_delivery_status=Subquery(latest.values("status")[:1]),
                last_delivery_at=Subquery(latest.values("created")[:1]),
            )
        )

    @admin.display(description="status", ordering="status")
    def state(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.status == WebhookEndpoint.Status.DISABLED:
            return f"disabled ({endpoint.disabled_reason or 'no reason'})"
        return endpoint.status

    @admin.display(description="last delivery")
    def last_delivery(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.last_delivery_status is None:
            return "—"
        return format_html(
            '<a href="{}">{} · {}</a>',
            deliveries_url(endpoint),
            endpoint.last_delivery_status,
            dateformat.format(timezone.localtime(endpoint.last_delivery_at), "Y-m-d H:i"),
        )

    @admin.display(description="delivery log")
    def delivery_log(self, endpoint: WebhookEndpoint) -> str:
        deliveries = list(endpoint.deliveries.select_related("event").order_by("-id")[: RECENT_ROWS + 1])
        return render_to_string(
            ENDPOINT_DELIVERIES_TEMPLATE,
            {
                "deliveries": deliveries[:RECENT_ROWS],
                "more": len(deliveries) > RECENT_ROWS,
                "all_url": deliveries_url(endpoint),
            },
        )

    @confirmed_action(
        description="Re-enable (abandoned deliveries stay abandoned: resend the ones wanted)",
        permission="reenable_webhookendpoint",
    )
    def reenable(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda endpoint: webhook_endpoint_reenable(
                endpoint_id=endpoint.public_id, operator_id=str(request.user.pk), reason=reason
            ),
            "Endpoints enabled",
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(UncountedChangeListMixin, ExactSearchMixin, ReadOnlyAdminMixin, ServiceOnlyAdmin):
    list_display = (
        "public_id",
        "status",
        "attempt_count",
        "last_status_code",
        "event",
        "endpoint_id_shown",
        "next_attempt_at",
        "created",
    )
    list_filter = (
        "status",
        exact_filter("endpoint__merchant_id", title="merchant", parameter="merchant", placeholder="mer_..."),
        exact_filter("endpoint__public_id", title="endpoint", parameter="endpoint", placeholder="we_..."),
        date_range(),
    )
    search_fields = ("=public_id",)
    search_help_text = "A delivery, event or endpoint id (whd_…, evt_…, we_…), or an event's object id."
    search_by_prefix = {"whd": "public_id", "evt": "event__public_id", "we": "endpoint__public_id"}
    list_select_related = ("event", "endpoint")
    fields = (
        "public_id",
        "event",
        "endpoint",
        "status",
        "attempt_count",
        "next_attempt_at",
        "dispatched_at",
        "last_attempt_at",
        "last_status_code",
        "completed_at",
        "created",
        "attempt_log",
    )
    readonly_fields = ("attempt_log",)
    actions = ["resend"]

    def search_other(self, term: str) -> Q:
        return Q(event__object_id=term)

    @admin.display(description="endpoint", ordering="endpoint_id")
    def endpoint_id_shown(self, delivery: WebhookDelivery) -> str:
        return delivery.endpoint.public_id

    @admin.display(description="attempts")
    def attempt_log(self, delivery: WebhookDelivery) -> str:
        attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("-id")[: RECENT_ROWS + 1])
        return render_to_string(
            DELIVERY_ATTEMPTS_TEMPLATE,
            {"attempts": attempts[:RECENT_ROWS], "more": len(attempts) > RECENT_ROWS},
        )

    @confirmed_action(
        description="Resend now (a fresh retry schedule, the same webhook-id)",
        permission="resend_webhookdelivery",
    )
    def resend(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda delivery: webhook_delivery_resend(
                delivery_id=delivery.public_id, operator_id=str(request.user.pk), reason=reason
            ),
            "Deliveries queued again",
        )
