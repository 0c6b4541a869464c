"""Maker-checker adjustments in the admin: propose with the add form, approve or reject with an
action. Every write goes through ``accounts.adjustments``; nothing here saves the model.

The add form is offered to whoever holds ``accounts.propose_adjustment``; the approve and reject
actions to whoever holds ``accounts.approve_adjustment``, and the service refuses the proposer
(shown as an error message). An adjustment has no change or delete page, for superusers too.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from djmoney.forms.fields import MoneyField as MoneyFormField

from accounts.adjustment_models import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, Adjustment
from accounts.adjustments import adjustment_approve, adjustment_check, adjustment_propose, adjustment_reject
from accounts.models import LedgerAccount
from paysys.admin.actions import confirmed_action, each_through
from paysys.admin.base import ServiceOnlyHistoryAdmin
from paysys.admin.search import currency_filter
from paysys.errors import PaysysError

PROPOSAL_FIELDS = ("debit_account", "credit_account", "amount", "reason")
SHOWN_FIELDS = (
    "public_id",
    "status",
    *PROPOSAL_FIELDS,
    "proposed_by",
    "created",
    "decided_by",
    "decision_reason",
    "decided_at",
    "transaction",
)


class AdjustmentProposalForm(forms.ModelForm):
    """The proposal's fields, checked by the service's own rules (``adjustment_check``)."""

    class Meta:
        model = Adjustment
        fields = PROPOSAL_FIELDS
        widgets = {"reason": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "amount" not in self.fields:
            return  # a past proposal, shown read-only
        # The currencies the ledger has accounts in: the only ones an adjustment can move.
        currencies = LedgerAccount.objects.order_by("currency").values_list("currency", flat=True).distinct()
        self.fields["amount"] = MoneyFormField(
            max_digits=AMOUNT_MAX_DIGITS,
            decimal_places=AMOUNT_DECIMAL_PLACES,
            currency_choices=[(code, code) for code in currencies],
        )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            adjustment_check(
                debit_account_id=cleaned["debit_account"].pk,
                credit_account_id=cleaned["credit_account"].pk,
                amount=cleaned["amount"],
                reason=cleaned["reason"],
            )
        except PaysysError as exc:
            self.add_error(exc.param if exc.param in self.fields else None, exc.message)
        return cleaned


@admin.register(Adjustment)
class AdjustmentAdmin(ServiceOnlyHistoryAdmin):
    form = AdjustmentProposalForm
    show_full_result_count = False
    list_display = (
        "public_id",
        "status",
        "debit_account",
        "credit_account",
        "amount",
        "proposed_by",
        "decided_by",
        "created",
    )
    list_filter = ("status", currency_filter())
    search_fields = ("public_id", "debit_account__public_id", "credit_account__public_id")
    list_select_related = ("debit_account", "credit_account", "proposed_by", "decided_by")
    raw_id_fields = ("debit_account", "credit_account")
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.propose_adjustment")

    def has_change_permission(self, request: HttpRequest, obj: Adjustment | None = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Adjustment | None = None):
        return PROPOSAL_FIELDS if obj is None else SHOWN_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Adjustment | None = None):
        return () if obj is None else SHOWN_FIELDS

    def save_model(self, request: HttpRequest, obj: Adjustment, form, change: bool) -> None:
        if change:
            raise PermissionDenied("An adjustment is decided with the approve and reject actions.")
        proposed = adjustment_propose(
            debit_account_id=obj.debit_account_id,
            credit_account_id=obj.credit_account_id,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            operator_id=request.user.pk,
        )
        # The admin goes on with the object it passed in (its log entry, the redirect).
        obj.pk = proposed.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """Nothing related to save: the service wrote the whole proposal."""

    @confirmed_action(description="Approve and post to the ledger", permission="approve_adjustment")
    def approve(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda adjustment: adjustment_approve(
                adjustment_id=adjustment.pk, operator_id=request.user.pk, reason=reason
            ),
            "Approved and posted",
        )

    @confirmed_action(description="Reject", permission="approve_adjustment")
    def reject(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda adjustment: adjustment_reject(
                adjustment_id=adjustment.pk, operator_id=request.user.pk, reason=reason
            ),
            "Rejected",
        )
