"""Operators' view of merchants and keys: read-mostly; status changes and key actions call services."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse, HttpResponseRedirect
from djmoney.forms.widgets import MoneyWidget

from merchants.models import ApiKey, FeePlan, Merchant, MerchantLimit
from merchants.services import (
    api_key_revoke,
    api_key_rotate,
    merchant_activate,
    merchant_close,
    merchant_fee_plan_set,
    merchant_limits_set,
    merchant_suspend,
    merchant_update,
)
from paysys.admin.actions import confirmed_action, each_through
from paysys.admin.base import ServiceOnlyHistoryAdmin
from paysys.admin.search import currency_filter
from paysys.errors import PaysysError


class RowCurrencyForm(forms.ModelForm):
    """A fee or limit row: an empty amount's currency select shows the row's currency, the only
    one its service takes (an amount in another currency is refused)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, MoneyWidget) and self.instance.currency:
                field.widget.default_currency = self.instance.currency


class FeePlanInline(admin.TabularInline):
    model = FeePlan
    form = RowCurrencyForm
    extra = 0
    can_delete = False
    fields = ("currency", "basis_points", "fixed", "dispute_fee")


class MerchantLimitInline(admin.TabularInline):
    model = MerchantLimit
    form = RowCurrencyForm
    extra = 0
    can_delete = False
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
    inlines = [FeePlanInline, MerchantLimitInline, ApiKeyInline]
    actions = ["activate", "suspend", "close"]

    def has_add_permission(self, request) -> bool:
        # Onboarding runs through merchant_onboard (``create_merchant``), which sets up the fee plan.
        return False

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
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        if changes:
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
            lambda m: merchant_suspend(merchant_id=m.public_id, reason="admin"),
            "Suspended",
        )

    @confirmed_action(description="Close (revokes every key)", permission="close_merchant")
    def close(self, request, queryset, reason):
        each_through(
            self,
            request,
            queryset,
            lambda m: merchant_close(merchant_id=m.public_id, reason="admin"),
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
        return False

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
        response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
        response["Cache-Control"] = "no-store"
        return response
