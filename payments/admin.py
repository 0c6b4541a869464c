"""Operators' view of payments: read only; review decisions, disputes and cancels call services."""

from django.contrib import admin

from payments.models import BlocklistEntry, Dispute, Payment, PaymentMethod, ProcessorOperation, Refund, TopUp
from payments.services import (
    dispute_close,
    dispute_open,
    payment_cancel,
    payment_review_approve,
    payment_review_decline,
)
from paysys.admin.actions import confirmed_action, each_through
from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin, ServiceOnlyHistoryAdmin


class ReadOnlyAdmin(ReadOnlyAdminMixin, ServiceOnlyHistoryAdmin):
    pass


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    fields = ("public_id", "amount", "currency", "status", "reason", "created")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OperationInline(admin.TabularInline):
    model = ProcessorOperation
    fk_name = "payment"
    extra = 0
    fields = ("reference", "kind", "status", "amount", "created", "resolved_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "merchant",
        "amount",
        "currency",
        "status",
        "risk_score",
        "disputed",
        "created",
    )
    list_filter = ("status", "currency", "capture_method", "disputed")
    search_fields = ("public_id", "merchant__public_id", "payment_method__public_id")
    list_select_related = ("merchant",)
    inlines = [OperationInline, RefundInline]
    actions = ["approve_review", "decline_review", "cancel", "open_dispute"]

    @confirmed_action(description="Approve review (capture proceeds)", permission="review_payment")
    def approve_review(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda p: payment_review_approve(payment_id=p.public_id, operator_id=str(request.user.pk)),
            "Approved",
        )

    @confirmed_action(description="Decline review (void the authorization)", permission="review_payment")
    def decline_review(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda p: payment_review_decline(payment_id=p.public_id, operator_id=str(request.user.pk)),
            "Declined",
        )

    @confirmed_action(description="Cancel (void) uncaptured payments", permission="cancel_payment")
    def cancel(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda p: payment_cancel(payment=p, reason="requested_by_customer"),
            "Canceled",
        )

    @confirmed_action(description="Open a dispute (chargeback notice)", permission="dispute_payment")
    def open_dispute(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda p: dispute_open(
                payment_id=p.public_id, reason="general", operator_id=str(request.user.pk)
            ),
            "Disputed",
        )


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "payment", "amount", "currency", "status", "reason", "created")
    list_filter = ("status", "currency", "reason")
    search_fields = ("public_id", "payment__public_id")
    list_select_related = ("payment",)


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "payment",
        "amount",
        "fee",
        "currency",
        "status",
        "evidence_due_by",
        "created",
    )
    list_filter = ("status", "currency")
    search_fields = ("public_id", "payment__public_id")
    list_select_related = ("payment",)
    actions = ["close_won", "close_lost"]

    @confirmed_action(description="Close as won (amount back to the merchant)", permission="close_dispute")
    def close_won(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda d: dispute_close(dispute_id=d.public_id, outcome="won", operator_id=str(request.user.pk)),
            "Won",
        )

    @confirmed_action(description="Close as lost", permission="close_dispute")
    def close_lost(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda d: dispute_close(dispute_id=d.public_id, outcome="lost", operator_id=str(request.user.pk)),
            "Lost",
        )


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdminMixin, ServiceOnlyAdmin):
    """Read only: a top-up is its payment's outcome; operators act on the payment."""

    list_display = ("public_id", "merchant", "account", "payment", "amount", "currency", "status", "created")
    list_filter = ("currency", "payment__status")
    search_fields = ("public_id", "merchant__public_id", "account__public_id", "payment__public_id")
    list_select_related = ("merchant", "account", "payment")
    readonly_fields = (
        "public_id",
        "merchant",
        "account",
        "payment",
        "amount",
        "currency",
        "metadata",
        "livemode",
        "created",
    )


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdminMixin, ServiceOnlyAdmin):
    list_display = ("public_id", "merchant", "brand", "last4", "exp_month", "exp_year", "created")
    search_fields = ("public_id", "fingerprint")
    exclude = ("processor_token",)


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(ServiceOnlyHistoryAdmin):
    """The risk team edits the blocklist directly: it moves no money, and history keeps every change.
    Entries are not deleted either: one that no longer applies is edited, and history shows it."""

    list_display = ("kind", "value", "reason", "created")
    list_filter = ("kind",)
    search_fields = ("value",)
