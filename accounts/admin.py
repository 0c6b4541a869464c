"""The ledger in the admin: read-only. Operators look here; money moves only through services
(adjustments go through a maker-checker flow, never an edit form). The one decision taken here
is an account's overdraft (``accounts.overdraft``): an action asking for a reason."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts.models import Entry, Hold, JournalTransaction, LedgerAccount, LedgerVerification, Transfer
from accounts.overdraft import account_overdraft_set
from accounts.selectors import accounts_with_balances
from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin, ServiceOnlyHistoryAdmin
from paysys.errors import PaysysError

OVERDRAFT_TEMPLATE = "admin/accounts/overdraft_decision.html"

LIST_PER_PAGE = 50


class LedgerReadOnlyMixin(ReadOnlyAdminMixin):
    list_per_page = LIST_PER_PAGE


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ("id", "account", "amount", "currency", "balance_after", "created")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(LedgerReadOnlyMixin, ServiceOnlyHistoryAdmin):
    list_display = (
        "public_id",
        "owner_type",
        "merchant_id",
        "kind",
        "currency",
        "posted_display",
        "pending",
        "available_display",
        "allow_negative",
        "status",
        "created",
    )
    list_filter = ("owner_type", "kind", "currency", "status", "allow_negative")
    search_fields = ("public_id", "merchant_id")
    date_hierarchy = "created"

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerAccount]:
        return accounts_with_balances(super().get_queryset(request))

    @admin.display(description="posted", ordering="posted")
    def posted_display(self, obj: LedgerAccount):
        return obj.posted

    @admin.display(description="available", ordering="available")
    def available_display(self, obj: LedgerAccount):
        return obj.available

    actions = ["allow_overdraft", "withdraw_overdraft"]

    def has_overdraft_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.set_overdraft")

    @admin.action(description="Allow overdraft (asks for a reason)", permissions=["overdraft"])
    def allow_overdraft(self, request: HttpRequest, queryset: QuerySet[LedgerAccount]):
        return self._overdraft_decide(request, queryset, allow_negative=True, action="allow_overdraft")

    @admin.action(description="Withdraw overdraft (asks for a reason)", permissions=["overdraft"])
    def withdraw_overdraft(self, request: HttpRequest, queryset: QuerySet[LedgerAccount]):
        return self._overdraft_decide(request, queryset, allow_negative=False, action="withdraw_overdraft")

    def _overdraft_decide(self, request, queryset, *, allow_negative: bool, action: str):
        reason = request.POST.get("reason", "").strip()
        if "apply" not in request.POST or not reason:
            context = {
                **self.admin_site.each_context(request),
                "title": "Allow overdraft" if allow_negative else "Withdraw overdraft",
                "accounts": list(queryset.order_by("pk")),
                "allow_negative": allow_negative,
                "action": action,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, OVERDRAFT_TEMPLATE, context)
        done = 0
        for account in queryset.order_by("pk"):
            try:
                account_overdraft_set(
                    account_id=account.pk,
                    allow_negative=allow_negative,
                    reason=reason,
                    operator_id=str(request.user.pk),
                )
                done += 1
            except PaysysError as exc:
                self.message_user(request, f"{account}: {exc.message}", level=messages.ERROR)
        if done:
            self.message_user(request, f"Overdraft {'allowed' if allow_negative else 'withdrawn'}: {done}.")
        return None


@admin.register(JournalTransaction)
class JournalTransactionAdmin(LedgerReadOnlyMixin, ServiceOnlyAdmin):
    list_display = ("public_id", "kind", "reference", "merchant_id", "reverses", "created")
    list_filter = ("kind",)
    search_fields = ("public_id", "reference", "merchant_id")
    date_hierarchy = "created"
    list_select_related = ("reverses",)
    inlines = [EntryInline]


@admin.register(Entry)
class EntryAdmin(LedgerReadOnlyMixin, ServiceOnlyAdmin):
    list_display = ("id", "transaction", "account", "amount", "currency", "balance_after", "created")
    list_filter = ("currency", "transaction__kind")
    search_fields = ("transaction__public_id", "transaction__reference", "account__public_id")
    list_select_related = ("transaction", "account")
    date_hierarchy = "created"


@admin.register(Hold)
class HoldAdmin(LedgerReadOnlyMixin, ServiceOnlyHistoryAdmin):
    list_display = (
        "public_id",
        "account",
        "amount",
        "captured_amount",
        "currency",
        "status",
        "expires_at",
        "created",
    )
    list_filter = ("status", "currency")
    search_fields = ("public_id", "reference", "account__public_id")
    list_select_related = ("account",)


@admin.register(Transfer)
class TransferAdmin(LedgerReadOnlyMixin, ServiceOnlyHistoryAdmin):
    list_display = (
        "public_id",
        "merchant_id",
        "from_account",
        "to_account",
        "amount",
        "currency",
        "status",
        "created",
    )
    list_filter = ("status", "currency")
    search_fields = ("public_id", "merchant_id", "from_account__public_id", "to_account__public_id")
    list_select_related = ("from_account", "to_account")
    date_hierarchy = "created"


@admin.register(LedgerVerification)
class LedgerVerificationAdmin(LedgerReadOnlyMixin, ServiceOnlyAdmin):
    list_display = ("id", "ok", "created", "duration_ms")
    list_filter = ("ok",)
    readonly_fields = ("ok", "summary", "failures", "duration_ms", "created")
