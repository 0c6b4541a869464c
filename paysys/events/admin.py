"""Events in the admin: read only (an event is a record of what happened, never edited)."""

import json

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html

from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin
from paysys.admin.changelist import UncountedChangeListMixin
from paysys.admin.search import ExactSearchMixin, date_range, exact_filter
from paysys.audit.admin_tools import ExactTextFilter
from paysys.events.models import Event, WebhookDelivery


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
    list_filter = ("type", "livemode", EventMerchantFilter, EventObjectFilter, date_range())
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


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(UncountedChangeListMixin, ExactSearchMixin, ReadOnlyAdminMixin, ServiceOnlyAdmin):
    list_display = (
        "public_id",
        "event",
        "endpoint",
        "status",
        "attempt_count",
        "last_status_code",
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

    def search_other(self, term: str) -> Q:
        return Q(event__object_id=term)
