"""Operators' view of payments: read only; review decisions, disputes and cancels call services.

A payment's page tells its whole story in time order (``payments.story``); search is by id,
receipt e-mail, card last4, card fingerprint or processor reference, each an index lookup
(``paysys.admin.search``); changelists never count their rows (``paysys.admin.changelist``).
"""

import re

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import Q
from django.urls import path

from payments.admin_refund import REFUND_PERMISSION, payment_refund_view
from payments.cards import FINGERPRINT_HEX_LENGTH
from payments.models import (
    BlocklistEntry,
    Dispute,
    Payment,
    PaymentMethod,
    ProcessorBreak,
    ProcessorOperation,
    Refund,
    TopUp,
)
from payments.services import (
    dispute_close,
    dispute_open,
    payment_cancel,
    payment_review_approve,
    payment_review_decline,
)
from payments.states import Action, transition_allowed
from payments.story import payment_story_get
from paysys.admin.actions import confirmed_action, each_through
from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin, ServiceOnlyHistoryAdmin
from paysys.admin.changelist import UncountedChangeListMixin
from paysys.admin.display import MoneyDisplayMixin
from paysys.admin.links import RecordsLinksMixin
from paysys.admin.search import (
    ExactSearchMixin,
    amount_range,
    currency_filter,
    date_range,
    merchant_filter,
)

LAST4 = re.compile(r"[0-9]{4}")
FINGERPRINT = re.compile(rf"[0-9a-f]{{{FINGERPRINT_HEX_LENGTH}}}")
STORY_TEMPLATE = "admin/payments/payment/story.html"
# The changelist's actions the story page offers as buttons, where the payment's state allows
# them (each asks to confirm, with a reason).
STORY_ACTIONS = {
    "approve_review": Action.REVIEW_APPROVE,
    "decline_review": Action.REVIEW_DECLINE,
    "cancel": Action.CANCEL,
    "open_dispute": Action.DISPUTE,
}


class ReadOnlyAdmin(ReadOnlyAdminMixin, ServiceOnlyHistoryAdmin):
    pass


class MoneyListAdmin(
    UncountedChangeListMixin, ExactSearchMixin, RecordsLinksMixin, MoneyDisplayMixin, ReadOnlyAdmin
):
    """A read-only list of money objects: exact search, no counting, money in its precision."""

    def ledger_entries_params(self, obj) -> dict[str, str]:
        return {"payment": obj.payment.public_id}


@admin.register(Payment)
class PaymentAdmin(MoneyListAdmin):
    list_display = (
        "public_id",
        "merchant_name",
        "amount_money",
        "status",
        "risk_score",
        "disputed",
        "created",
    )
    list_filter = (
        "status",
        merchant_filter(),
        currency_filter(),
        amount_range(),
        amount_range("risk_score", "risk score"),
        date_range(),
        "capture_method",
        "disputed",
    )
    search_fields = ("=public_id",)
    search_help_text = (
        "A payment, merchant, card, refund or dispute id (pay_…, mer_…, pm_…, re_…, dp_…), "
        "a receipt e-mail, a card's last 4 digits or fingerprint, a processor reference."
    )
    search_by_prefix = {
        "pay": "public_id",
        "mer": "merchant__public_id",
        "pm": "payment_method__public_id",
        "re": "refunds__public_id",
        "dp": "disputes__public_id",
    }
    list_select_related = ("merchant",)
    money_fields = ("amount", "amount_capturable", "amount_captured", "amount_refunded", "fee")
    exclude = ("transfer_data",)
    readonly_fields = ("records",)
    change_form_template = STORY_TEMPLATE
    actions = ["approve_review", "decline_review", "cancel", "open_dispute"]

    @admin.display(description="merchant", ordering="merchant__name")
    def merchant_name(self, obj: Payment) -> str:
        return obj.merchant.name

    def search_other(self, term: str) -> Q:
        if "@" in term:
            return Q(receipt_email__iexact=term)
        if LAST4.fullmatch(term):
            return Q(payment_method__last4=term)
        if FINGERPRINT.fullmatch(term):
            return Q(payment_method__fingerprint=term)
        return Q(processor_authorization=term) | Q(
            pk__in=ProcessorOperation.objects.filter(reference=term).values("payment_id")
        )

    def ledger_entries_params(self, obj) -> dict[str, str]:
        return {"payment": obj.public_id}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        payment = self.get_object(request, object_id)
        story = payment_story_get(payment_id=payment.public_id) if payment is not None else None
        actions = self.get_actions(request)
        context = {
            **(extra_context or {}),
            "story": story,
            "records": payment and self.records(payment),
            "story_actions": [
                (name, actions[name][2])
                for name, action in STORY_ACTIONS.items()
                if name in actions and payment and transition_allowed(action=action, status=payment.status)
            ],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "can_refund": bool(
                payment
                and request.user.has_perm(REFUND_PERMISSION)
                and transition_allowed(action=Action.REFUND, status=payment.status)
                and payment.amount_captured > payment.amount_refunded
            ),
        }
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list:
        refund = self.admin_site.admin_view(
            lambda request, object_id: payment_refund_view(self, request, object_id)
        )
        return [path("<path:object_id>/refund/", refund, name="payments_payment_refund"), *super().get_urls()]

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
class RefundAdmin(MoneyListAdmin):
    list_display = ("public_id", "payment", "amount_money", "status", "reason", "created")
    list_filter = ("status", "reason", merchant_filter(), currency_filter(), amount_range(), date_range())
    search_fields = ("=public_id",)
    search_help_text = "A refund, payment or merchant id (re_…, pay_…, mer_…)."
    search_by_prefix = {"re": "public_id", "pay": "payment__public_id", "mer": "merchant__public_id"}
    list_select_related = ("payment",)
    money_fields = ("amount",)
    readonly_fields = ("records",)


@admin.register(Dispute)
class DisputeAdmin(MoneyListAdmin):
    list_display = (
        "public_id",
        "payment",
        "amount_money",
        "fee_money",
        "status",
        "evidence_due_by",
        "created",
    )
    list_filter = (
        "status",
        merchant_filter(),
        currency_filter(),
        amount_range(),
        date_range(),
        date_range("evidence_due_by", "evidence due by"),
    )
    search_fields = ("=public_id",)
    search_help_text = "A dispute, payment or merchant id (dp_…, pay_…, mer_…)."
    search_by_prefix = {"dp": "public_id", "pay": "payment__public_id", "mer": "merchant__public_id"}
    list_select_related = ("payment",)
    money_fields = ("amount", "fee", "platform_shortfall")
    readonly_fields = ("records",)
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
class TopUpAdmin(
    UncountedChangeListMixin, ExactSearchMixin, MoneyDisplayMixin, ReadOnlyAdminMixin, ServiceOnlyAdmin
):
    """Read only: a top-up is its payment's outcome; operators act on the payment."""

    list_display = ("public_id", "merchant", "account", "payment", "amount_money", "status", "created")
    money_fields = ("amount",)
    list_filter = (currency_filter(), "payment__status", date_range())
    search_fields = ("=public_id",)
    search_help_text = "A top-up, merchant or payment id (tu_…, mer_…, pay_…)."
    search_by_prefix = {"tu": "public_id", "mer": "merchant__public_id", "pay": "payment__public_id"}
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
class PaymentMethodAdmin(UncountedChangeListMixin, ExactSearchMixin, ReadOnlyAdminMixin, ServiceOnlyAdmin):
    list_display = ("public_id", "merchant", "brand", "last4", "exp_month", "exp_year", "created")
    search_fields = ("=public_id",)
    search_help_text = "A card or merchant id (pm_…, mer_…), or a card's fingerprint."
    search_by_prefix = {"pm": "public_id", "mer": "merchant__public_id"}
    list_select_related = ("merchant",)

    def search_other(self, term: str) -> Q | None:
        return Q(fingerprint=term) if FINGERPRINT.fullmatch(term) else None

    exclude = ("processor_token",)


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(ServiceOnlyHistoryAdmin):
    """The risk team edits the blocklist directly: it moves no money, and history keeps every change.
    Entries are not deleted either: one that no longer applies is edited, and history shows it."""

    list_display = ("kind", "value", "reason", "created")
    list_filter = ("kind",)
    search_fields = ("value",)


@admin.register(ProcessorBreak)
class ProcessorBreakAdmin(ReadOnlyAdminMixin, ServiceOnlyAdmin):
    """Read only: breaks are written by ``reconcile_processor`` and resolved by its next run."""

    list_display = ("date", "kind", "reference", "resolved_at", "created")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter), "date")
    search_fields = ("reference",)
