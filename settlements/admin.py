"""Settlements in the admin: read-only. Batches with their settlements, breaks and failures,
settlements with their lines (and a link to them as CSV, the bytes ``settlements.export`` writes
for the API and ``manage.py export_settlement``), reconciliation breaks, payouts. Money moves
only through ``settlements.services``; the decisions taken here are actions asking for a reason
(``paysys.admin.actions``): run a batch again (retrying its failed merchants), hold and release
a merchant's payouts, resolve a break."""

from django.contrib import admin
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from paysys.admin.actions import confirmed_action, each_through
from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin, ServiceOnlyHistoryAdmin
from paysys.admin.changelist import UncountedChangeListMixin
from paysys.admin.display import MoneyDisplayMixin
from paysys.admin.search import ExactSearchMixin, currency_filter, date_range
from settlements.export import CSV_MEDIA_TYPE, settlement_csv_rows
from settlements.models import (
    Payout,
    PayoutHold,
    Settlement,
    SettlementBatch,
    SettlementBreak,
    SettlementLine,
)
from settlements.services import payout_hold, payout_release, settlement_break_resolve, settlement_run

LIST_PER_PAGE = 50
AMOUNTS = (
    "gross",
    "fees",
    "refunds",
    "disputes",
    "adjustments",
    "reserve_withheld",
    "reserve_released",
    "net",
)


class SettlementsReadOnlyMixin(MoneyDisplayMixin, ReadOnlyAdminMixin):
    list_per_page = LIST_PER_PAGE


class SettlementsListMixin(UncountedChangeListMixin, ExactSearchMixin, SettlementsReadOnlyMixin):
    """A table that grows with every merchant and day: no count, search by id only."""


class _ReadOnlyInline(MoneyDisplayMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class SettlementInline(_ReadOnlyInline):
    model = Settlement
    fields = ("public_id", "merchant", "livemode", "status", "net", "count")
    readonly_fields = fields
    money_fields = ("net",)


class SettlementLineInline(_ReadOnlyInline):
    model = SettlementLine
    fields = ("type", "source", "transaction", "amount", "fee", "gross", "created")
    readonly_fields = fields
    money_fields = ("amount", "fee", "gross")


class SettlementBreakInline(_ReadOnlyInline):
    model = SettlementBreak
    fields = ("settlement", "kind", "what", "expected", "found", "resolved_at", "resolved_by", "resolution")
    readonly_fields = fields


@admin.register(SettlementBatch)
class SettlementBatchAdmin(SettlementsReadOnlyMixin, ServiceOnlyHistoryAdmin):
    list_display = (
        "date",
        "status",
        "settlements_count",
        "lines_count",
        "failures_count",
        "runs",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", date_range("date", "date"))
    inlines = [SettlementInline, SettlementBreakInline]
    actions = ["rerun"]

    @confirmed_action(
        description="Run again (settles what the batch still lacks)", permission="run_settlement"
    )
    def rerun(self, request, queryset, reason):
        each_through(
            self, request, queryset, lambda batch: settlement_run(date=batch.date), "Batches run again"
        )


@admin.register(Settlement)
class SettlementAdmin(SettlementsListMixin, ServiceOnlyHistoryAdmin):
    list_display = (
        "public_id",
        "batch",
        "merchant",
        "livemode",
        "status",
        *(f"{amount}_money" for amount in AMOUNTS),
        "count",
    )
    money_fields = AMOUNTS
    list_filter = ("status", currency_filter(), "livemode", "batch__date")
    search_fields = ("=public_id",)
    search_help_text = "A settlement or merchant id (set_…, mer_…)."
    search_by_prefix = {"set": "public_id", "mer": "merchant__public_id"}
    list_select_related = ("batch", "merchant")
    readonly_fields = ("lines_csv",)
    inlines = [SettlementLineInline]

    def get_urls(self):
        view = self.admin_site.admin_view(self.lines_csv_view)
        return [
            path("<path:object_id>/lines.csv", view, name="settlements_settlement_lines_csv"),
            *super().get_urls(),
        ]

    def lines_csv_view(self, request: HttpRequest, object_id: str) -> StreamingHttpResponse:
        """The settlement's lines as CSV, to whoever may view the settlement."""
        settlement = self.get_object(request, object_id)
        if settlement is None or not self.has_view_permission(request, settlement):
            raise Http404("No such settlement.")
        response = StreamingHttpResponse(settlement_csv_rows(settlement), content_type=CSV_MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{settlement.public_id}.csv"'
        return response

    @admin.display(description="Lines as CSV")
    def lines_csv(self, settlement: Settlement) -> str:
        url = reverse("admin:settlements_settlement_lines_csv", args=[settlement.pk])
        return format_html('<a href="{}">{}.csv</a>', url, settlement.public_id)


@admin.register(SettlementLine)
class SettlementLineAdmin(SettlementsListMixin, ServiceOnlyAdmin):
    list_display = (
        "id",
        "settlement",
        "type",
        "source",
        "transaction",
        "amount_money",
        "fee_money",
        "gross_money",
        "created",
    )
    money_fields = ("amount", "fee", "gross")
    list_filter = ("type",)
    search_fields = ("=settlement__public_id",)
    search_help_text = "A settlement id (set_…): its lines."
    search_by_prefix = {"set": "settlement__public_id"}
    list_select_related = ("settlement", "transaction")


@admin.register(SettlementBreak)
class SettlementBreakAdmin(SettlementsReadOnlyMixin, ServiceOnlyHistoryAdmin):
    list_display = (
        "id",
        "batch",
        "settlement",
        "kind",
        "what",
        "expected",
        "found",
        "created",
        "resolved_at",
        "resolved_by",
        "resolution",
    )
    list_filter = (("resolved_at", admin.EmptyFieldListFilter), "kind", "batch__date")
    search_fields = ("what", "settlement__public_id", "settlement__merchant__public_id")
    list_select_related = ("batch", "settlement")
    actions = ["resolve"]

    @confirmed_action(
        description="Resolve (the reason says what was done about it)", permission="resolve_settlementbreak"
    )
    def resolve(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda found: settlement_break_resolve(
                break_id=found.pk, reason=reason, operator_id=str(request.user.pk)
            ),
            "Breaks resolved",
        )


@admin.register(Payout)
class PayoutAdmin(SettlementsListMixin, ServiceOnlyHistoryAdmin):
    list_display = (
        "public_id",
        "merchant",
        "amount_money",
        "status",
        "arrival_date",
        "settlement",
        "created",
    )
    money_fields = ("amount",)
    list_filter = ("status", "livemode", date_range())
    search_fields = ("=public_id",)
    search_help_text = "A payout, merchant or settlement id (po_…, mer_…, set_…)."
    search_by_prefix = {"po": "public_id", "mer": "merchant__public_id", "set": "settlement__public_id"}
    list_select_related = ("merchant", "settlement")
    actions = ["hold_payouts", "release_payouts"]

    @confirmed_action(description="Hold the merchant's payouts", permission="hold_payout")
    def hold_payouts(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda payout: payout_hold(
                merchant_id=payout.merchant.public_id, reason=reason, operator_id=str(request.user.pk)
            ),
            "Merchants' payouts held",
        )

    @confirmed_action(description="Release the merchant's payouts", permission="hold_payout")
    def release_payouts(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda payout: payout_release(
                merchant_id=payout.merchant.public_id, reason=reason, operator_id=str(request.user.pk)
            ),
            "Merchants' payouts released",
        )


@admin.register(PayoutHold)
class PayoutHoldAdmin(SettlementsReadOnlyMixin, ServiceOnlyHistoryAdmin):
    list_display = (
        "merchant",
        "reason",
        "held_by",
        "created",
        "released_at",
        "release_reason",
        "released_by",
    )
    list_filter = ("released_at",)
    search_fields = ("merchant__public_id", "reason")
    list_select_related = ("merchant",)
