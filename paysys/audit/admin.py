"""The audit log in the admin: read only, filterable by event type, actor, merchant and object."""

import json

from django.contrib import admin
from django.utils.html import format_html

from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin
from paysys.admin.changelist import UncountedChangeListMixin
from paysys.admin.display import money_column
from paysys.admin.search import date_range, exact_filter
from paysys.audit.admin_tools import ExactTextFilter
from paysys.audit.models import AuditEvent
from paysys.audit.services import audit_idempotency_key_digest


class MerchantFilter(ExactTextFilter):
    title = "merchant"
    parameter_name = "merchant"
    field = "merchant_id"
    placeholder = "mer_..."


class ObjectIdFilter(ExactTextFilter):
    title = "object id"
    parameter_name = "object"
    field = "object_id"
    placeholder = "pay_..., txn_..., acct_..."


class ActorIdFilter(ExactTextFilter):
    title = "actor id"
    parameter_name = "actor"
    field = "actor_id"


class CorrelationFilter(ExactTextFilter):
    title = "correlation id"
    parameter_name = "correlation"
    field = "correlation_id"


@admin.register(AuditEvent)
class AuditEventAdmin(UncountedChangeListMixin, ReadOnlyAdminMixin, ServiceOnlyAdmin):
    list_display = (
        "created",
        "event_type",
        "object_type",
        "object_id",
        "previous_state",
        "new_state",
        "actor_type",
        "actor_id",
        "merchant_id",
        "amount_money",
        "correlation_id",
    )
    list_filter = (
        "actor_type",
        exact_filter(
            "event_type", title="event type", parameter="event_type", placeholder="payment.captured"
        ),
        exact_filter("object_type", title="object type", parameter="object_type", placeholder="payment"),
        MerchantFilter,
        ObjectIdFilter,
        ActorIdFilter,
        CorrelationFilter,
        date_range(),
    )
    search_fields = ("=event_id", "=object_id", "=merchant_id", "=correlation_id")
    ordering = ("-id",)
    fieldsets = (
        (None, {"fields": ("event_id", "created", "event_type", "reason_code")}),
        (
            "Object",
            {"fields": ("object_type", "object_id", "previous_state", "new_state", "amount_money")},
        ),
        ("Who", {"fields": ("actor_type", "actor_id", "ip_address", "merchant_id")}),
        ("Tracing", {"fields": ("correlation_id", "idempotency_key", "metadata_pretty")}),
        ("Chain", {"fields": ("chain", "seq", "prev_hash", "hash")}),
    )
    readonly_fields = ("metadata_pretty", "amount_money")
    amount_money = staticmethod(money_column("amount"))

    def get_search_results(self, request, queryset, search_term):
        """The search also finds the rows of an Idempotency-Key, stored as its keyed digest."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            found |= queryset.filter(idempotency_key=audit_idempotency_key_digest(search_term.strip()))
        return found, may_have_duplicates

    @admin.display(description="metadata")
    def metadata_pretty(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.metadata, indent=2, sort_keys=True))
