"""Operators' view of merchants and keys: read-mostly; status changes and key actions call services.

A merchant's terms are set on its page by whoever holds their permission, each field through
its service (``merchant_update``, ``merchant_fee_plan_set``, ``merchant_limits_set``) with the
reason the operator gives, which reaches every audit row the save writes:

- ``merchants.set_merchant_fees`` (finance): the fee plans, the settlement delay and the payout
  schedule;
- ``merchants.set_merchant_risk_terms`` (risk): the rolling reserve (percent, days) and the limits;
- ``merchants.change_merchant`` (admin): all of these and the merchant's name, e-mail, metadata.

Everything else on the page is read only for them. Onboarding a merchant and creating an API
key (the admin role) have their own pages: ``merchants.admin_onboard``.
"""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse, HttpResponseRedirect
from djmoney.forms.widgets import MoneyWidget

from merchants.admin_onboard import (
    KEY_CREATE_PERMISSION,
    ONBOARD_PERMISSION,
    api_key_create_view,
    merchant_onboard_view,
    secret_shown_once,
)
from merchants.models import ApiKey, FeePlan, Merchant, MerchantLimit
from merchants.services import (
    MERCHANT_UPDATABLE_FIELDS,
    api_key_revoke,
    api_key_rotate,
    merchant_activate,
    merchant_close,
    merchant_fee_plan_set,
    merchant_limits_set,
    merchant_suspend,
    merchant_update,
)
from paysys.admin.actions import REASON_MAX_LENGTH, confirmed_action, each_through, operator_scope
from paysys.admin.base import ServiceOnlyHistoryAdmin
from paysys.admin.search import currency_filter
from paysys.errors import PaysysError

FEES_PERMISSION = "merchants.set_merchant_fees"
RISK_TERMS_PERMISSION = "merchants.set_merchant_risk_terms"
# The merchant's own fields each terms permission lets an operator change.
TERMS_FIELDS = {
    FEES_PERMISSION: ("settlement_delay_days", "payout_schedule"),
    RISK_TERMS_PERMISSION: ("reserve_percent", "reserve_period_days"),
}


def _may_change(request, permission: str) -> bool:
    return request.user.has_perm("merchants.change_merchant") or request.user.has_perm(permission)


class MerchantForm(forms.ModelForm):
    """The merchant's fields, and the reason for a change (recorded in the audit log)."""

    change_reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Why these terms change: recorded in the audit log with your name.",
    )


class RowCurrencyForm(forms.ModelForm):
    """A fee or limit row: an empty amount's currency select shows the row's currency, the only
    one its service takes (an amount in another currency is refused)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, MoneyWidget) and self.instance.currency:
                field.widget.default_currency = self.instance.currency


class TermsInline(admin.TabularInline):
    """A row of terms per currency, added or changed by whoever holds ``permission``."""

    form = RowCurrencyForm
    extra = 0
    can_delete = False
    permission = ""

    def has_add_permission(self, request, obj=None) -> bool:
        return _may_change(request, self.permission)

    def has_change_permission(self, request, obj=None) -> bool:
        return _may_change(request, self.permission)


class FeePlanInline(TermsInline):
    model = FeePlan
    permission = FEES_PERMISSION
    fields = ("currency", "basis_points", "fixed", "dispute_fee")


class MerchantLimitInline(TermsInline):
    model = MerchantLimit
    permission = RISK_TERMS_PERMISSION
    fields = ("currency", "max_payment", "daily_volume")


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fk_name = "merchant"
    fields = ("prefix", "scope", "mode", "created", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Merchant)
class MerchantAdmin(ServiceOnlyHistoryAdmin):
    list_display = ("public_id", "name", "email", "status", "default_currency", "created")
    list_filter = ("status", currency_filter("default_currency"), "payout_schedule")
    search_fields = ("public_id", "name", "email")
    readonly_fields = (
        "public_id",
        "default_currency",  # set at onboarding; activation opened the ledger accounts in it
        "status",
        "status_reason",
        "created",
        "updated",
        "activated_at",
        "suspended_at",
        "closed_at",
        "platform",  # set at onboarding (create_merchant --platform), one level deep
    )
    form = MerchantForm
    inlines = [FeePlanInline, MerchantLimitInline, ApiKeyInline]
    actions = ["activate", "suspend", "close"]

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(ONBOARD_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        # Onboarding runs through merchant_onboard (as ``create_merchant`` does), which sets up
        # the fee plan: its own form, never a ModelForm save.
        return merchant_onboard_view(self, request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = {
            **(extra_context or {}),
            "can_create_api_key": request.user.has_perm(KEY_CREATE_PERMISSION),
        }
        return super().change_view(request, object_id, form_url, context)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) or any(
            request.user.has_perm(permission) for permission in TERMS_FIELDS
        )

    def get_readonly_fields(self, request, obj=None):
        if request.user.has_perm("merchants.change_merchant"):
            return self.readonly_fields
        editable = {
            field
            for permission, fields in TERMS_FIELDS.items()
            if request.user.has_perm(permission)
            for field in fields
        }
        # Shown, not editable: the rest of what merchant_update would take.
        shown = MERCHANT_UPDATABLE_FIELDS - editable
        return (*self.readonly_fields, *(f.name for f in Merchant._meta.fields if f.name in shown))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Django runs a POST here in one atomic block and the services that save_model and
        # save_formset call join it, so a merchant's profile, fees and limits change together
        # or not at all. A change a service refuses rolls the whole form back and comes back
        # as a message, not as a server error.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PaysysError as exc:
            self.message_user(request, f"Nothing was saved: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        # The form's changes go through the service (lock, validation, audit row), not obj.save().
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field != "change_reason"}
        if changes:
            with operator_scope(request, form.cleaned_data["change_reason"]):
                merchant_update(merchant_id=obj.public_id, changes=changes)

    def save_formset(self, request, form, formset, change) -> None:
        merchant_id = form.instance.public_id
        # What formset.save() would have recorded, for the admin's change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() or not inline_form.cleaned_data:
                continue
            data = inline_form.cleaned_data
            saved = None
            with operator_scope(request, form.cleaned_data["change_reason"]):
                if formset.model is FeePlan:
                    saved = merchant_fee_plan_set(
                        merchant_id=merchant_id,
                        currency=data["currency"],
                        basis_points=data["basis_points"],
                        fixed=data["fixed"],
                        dispute_fee=data["dispute_fee"],
                    )
                elif formset.model is MerchantLimit:
                    saved = merchant_limits_set(
                        merchant_id=merchant_id,
                        currency=data["currency"],
                        max_payment=data["max_payment"],
                        daily_volume=data["daily_volume"],
                    )
            if saved is not None and inline_form.instance.pk:
                formset.changed_objects.append((saved, inline_form.changed_data))
            elif saved is not None:
                formset.new_objects.append(saved)

    @confirmed_action(
        description="Activate (opens ledger accounts) / reinstate", permission="activate_merchant"
    )
    def activate(self, request, queryset, reason):
        each_through(
            self, request, queryset, lambda m: merchant_activate(merchant_id=m.public_id), "Activated"
        )

    @confirmed_action(description="Suspend (its keys get 403)", permission="suspend_merchant")
    def suspend(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda m: merchant_suspend(merchant_id=m.public_id, reason=reason),
            "Suspended",
        )

    @confirmed_action(description="Close (revokes every key)", permission="close_merchant")
    def close(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda m: merchant_close(merchant_id=m.public_id, reason=reason),
            "Closed",
        )


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceOnlyHistoryAdmin):
    list_display = (
        "prefix",
        "merchant",
        "scope",
        "mode",
        "created",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("scope", "mode")
    search_fields = ("prefix", "merchant__public_id", "merchant__name")
    exclude = ("secret_hash",)
    readonly_fields = (
        "merchant",
        "prefix",
        "scope",
        "mode",
        "name",
        "created",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "rotated_from",
    )
    actions = ["revoke", "rotate"]

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(KEY_CREATE_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        # A key is made by api_key_create, whose secret its answer shows once.
        return api_key_create_view(self, request)

    @confirmed_action(description="Revoke now", permission="revoke_apikey")
    def revoke(self, request, queryset, reason):
        each_through(self, request, queryset, lambda k: api_key_revoke(prefix=k.prefix), "Revoked")

    @confirmed_action(
        description="Rotate (old key expires in 24 h; the new secret is shown once)",
        permission="rotate_apikey",
    )
    def rotate(self, request, queryset, reason):
        # The new secrets go straight into this response: a flash message would be stored in
        # the session, i.e. in the database, which must never hold a secret.
        lines = []
        for key in queryset.order_by("pk"):
            try:
                new, secret = api_key_rotate(prefix=key.prefix)
            except PaysysError as exc:
                lines.append(f"{key.prefix}: not rotated: {exc.message}")
                continue
            lines.append(f"{key.prefix} -> {new.prefix}: new secret (shown once) {secret}")
        return secret_shown_once(
            HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
        )
