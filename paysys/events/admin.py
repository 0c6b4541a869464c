"""Events in the admin: read only (an event is a record of what happened, never edited)."""

import json

from django.contrib import admin
from django.utils.html import format_html

from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin
from paysys.audit.admin_tools import ExactTextFilter
from paysys.events.models import Event


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
class EventAdmin(ReadOnlyAdminMixin, ServiceOnlyAdmin):
    list_display = ("public_id", "type", "merchant_id", "object_type", "object_id", "livemode", "created")
    list_filter = ("type", "livemode", EventMerchantFilter, EventObjectFilter)
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
