"""The ledger in the admin: read-only. Operators look here; money moves only through services
(adjustments go through a maker-checker flow, never an edit form). The one decision taken here
is an account's overdraft (``accounts.overdraft``): an action asking for a reason."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Entry, Hold, JournalTransaction, LedgerAccount, LedgerVerification, Transfer
from accounts.overdraft import account_overdraft_set
from accounts.selectors import accounts_with_balances
from paysys.admin.actions import confirmed_action, each_through
from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin, ServiceOnlyHistoryAdmin

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

    @confirmed_action(description="Allow overdraft", permission="set_overdraft")
    def allow_overdraft(self, request, queryset, reason):
        self._overdraft_set(request, queryset, reason, allow_negative=True)

    @confirmed_action(description="Withdraw overdraft", permission="set_overdraft")
    def withdraw_overdraft(self, request, queryset, reason):
        self._overdraft_set(request, queryset, reason, allow_negative=False)

    def _overdraft_set(self, request, queryset, reason: str, *, allow_negative: bool) -> None:
        each_through(
            self,
            request,
            queryset,
            lambda account: account_overdraft_set(
                account_id=account.pk,
                allow_negative=allow_negative,
                reason=reason,
                operator_id=str(request.user.pk),
            ),
            "Overdraft allowed" if allow_negative else "Overdraft withdrawn",
        )


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


# Maker-checker adjustments: their own module (propose, approve, reject through the service).
from accounts import adjustment_admin  # noqa: E402, F401
