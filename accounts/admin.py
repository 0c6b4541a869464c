"""The ledger in the admin: read-only. Operators look here; money moves only through services
(adjustments go through a maker-checker flow, never an edit form). The one decision taken here
is an account's overdraft (``accounts.overdraft``): an action asking for a reason."""

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts.models import Entry, Hold, JournalTransaction, LedgerAccount, LedgerVerification, Transfer
from accounts.overdraft import account_overdraft_set
from accounts.selectors import accounts_with_balances
from paysys.admin.actions import confirmed_action, each_through
from paysys.admin.base import ReadOnlyAdminMixin, ServiceOnlyAdmin, ServiceOnlyHistoryAdmin
from paysys.admin.changelist import UncountedChangeListMixin
from paysys.admin.display import MoneyDisplayMixin, money_column
from paysys.admin.links import RecordsLinksMixin, entries_url
from paysys.admin.search import (
    ID_PATTERN,
    ExactSearchMixin,
    amount_range,
    currency_filter,
    date_range,
    exact_filter,
)

LIST_PER_PAGE = 50


class LedgerReadOnlyMixin(ReadOnlyAdminMixin):
    list_per_page = LIST_PER_PAGE


class EntryInline(MoneyDisplayMixin, admin.TabularInline):
    model = Entry
    money_fields = ("amount", "balance_after")
    fields = ("id", "account", "amount", "balance_after", "created")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(
    UncountedChangeListMixin,
    ExactSearchMixin,
    RecordsLinksMixin,
    LedgerReadOnlyMixin,
    ServiceOnlyHistoryAdmin,
):
    list_display = (
        "public_id",
        "owner_type",
        "merchant_id",
        "kind",
        "posted_display",
        "pending_money",
        "available_display",
        "entries_link",
        "allow_negative",
        "status",
        "created",
    )
    list_filter = ("owner_type", "kind", currency_filter(), "status", "allow_negative", date_range())
    search_fields = ("=public_id",)
    search_help_text = "An account or merchant id (acct_…, mer_…)."
    search_by_prefix = {"acct": "public_id", "mer": "merchant_id"}

    readonly_fields = ("records",)

    def ledger_entries_params(self, obj: LedgerAccount) -> dict[str, str]:
        return {"account": obj.public_id}

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerAccount]:
        return accounts_with_balances(super().get_queryset(request))

    posted_display = staticmethod(money_column("posted"))
    pending_money = staticmethod(money_column("pending"))
    available_display = staticmethod(money_column("available"))

    @admin.display(description="entries")
    def entries_link(self, obj: LedgerAccount) -> str:
        return format_html('<a href="{}">entries</a>', entries_url({"account": obj.public_id}))

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
class JournalTransactionAdmin(
    UncountedChangeListMixin, ExactSearchMixin, LedgerReadOnlyMixin, ServiceOnlyAdmin
):
    list_display = ("public_id", "kind", "reference", "merchant_id", "reverses", "created")
    list_filter = (
        "kind",
        exact_filter("merchant_id", title="merchant", parameter="merchant", placeholder="mer_..."),
        exact_filter("metadata__payment", title="payment", parameter="payment", placeholder="pay_..."),
        date_range(),
    )
    search_fields = ("=public_id",)
    search_help_text = "A journal transaction or merchant id (txn_…, mer_…), or a transaction's reference."
    search_by_prefix = {"txn": "public_id", "mer": "merchant_id"}
    list_select_related = ("reverses",)
    inlines = [EntryInline]

    def search_other(self, term: str) -> Q:
        return Q(reference=term)


@admin.register(Entry)
class EntryAdmin(
    UncountedChangeListMixin, ExactSearchMixin, MoneyDisplayMixin, LedgerReadOnlyMixin, ServiceOnlyAdmin
):
    list_display = ("id", "transaction", "account", "amount_money", "balance_after_money", "created")
    list_filter = (
        "transaction__kind",
        exact_filter("account__public_id", title="account", parameter="account", placeholder="acct_..."),
        exact_filter(
            "transaction__metadata__payment", title="payment", parameter="payment", placeholder="pay_..."
        ),
        currency_filter(),
        amount_range(),
        date_range(),
    )
    search_fields = ("=transaction__public_id",)
    search_help_text = "A journal transaction or account id (txn_…, acct_…), or a transaction's reference."
    search_by_prefix = {"txn": "transaction__public_id", "acct": "account__public_id"}
    list_select_related = ("transaction", "account")
    money_fields = ("amount", "balance_after")

    def search_other(self, term: str) -> Q:
        return Q(transaction__reference=term)


@admin.register(Hold)
class HoldAdmin(
    UncountedChangeListMixin,
    ExactSearchMixin,
    RecordsLinksMixin,
    MoneyDisplayMixin,
    LedgerReadOnlyMixin,
    ServiceOnlyHistoryAdmin,
):
    money_fields = ("amount", "captured_amount")
    readonly_fields = ("records",)
    list_display = (
        "public_id",
        "account",
        "amount_money",
        "captured_amount_money",
        "status",
        "expires_at",
        "created",
    )
    list_filter = ("status", currency_filter(), amount_range(), date_range())
    search_fields = ("=public_id",)
    search_help_text = "A hold or account id (hold_…, acct_…), or a hold's reference."
    search_by_prefix = {"hold": "public_id", "acct": "account__public_id"}
    list_select_related = ("account",)

    def search_other(self, term: str) -> Q:
        return Q(reference=term)


@admin.register(Transfer)
class TransferAdmin(
    UncountedChangeListMixin,
    ExactSearchMixin,
    RecordsLinksMixin,
    MoneyDisplayMixin,
    LedgerReadOnlyMixin,
    ServiceOnlyHistoryAdmin,
):
    list_display = (
        "public_id",
        "merchant_id",
        "from_account",
        "to_account",
        "amount_money",
        "status",
        "created",
    )
    list_filter = (
        "status",
        exact_filter("merchant_id", title="merchant", parameter="merchant", placeholder="mer_..."),
        currency_filter(),
        amount_range(),
        date_range(),
    )
    search_fields = ("=public_id",)
    search_help_text = "A transfer, merchant, account or journal transaction id (tr_…, mer_…, acct_…, txn_…)."
    search_by_prefix = {"tr": "public_id", "mer": "merchant_id", "txn": "transaction__public_id"}
    list_select_related = ("from_account", "to_account")
    money_fields = ("amount",)
    readonly_fields = ("records",)

    def search_other(self, term: str) -> Q | None:
        match = ID_PATTERN.fullmatch(term)
        if match and match.group(1) == "acct":
            return Q(from_account__public_id=term) | Q(to_account__public_id=term)
        return None

    def ledger_entries_params(self, obj: Transfer) -> dict[str, str]:
        return {"q": obj.transaction.public_id}


@admin.register(LedgerVerification)
class LedgerVerificationAdmin(LedgerReadOnlyMixin, ServiceOnlyAdmin):
    list_display = ("id", "ok", "created", "duration_ms")
    list_filter = ("ok",)
    readonly_fields = ("ok", "summary", "failures", "duration_ms", "created")


# Maker-checker adjustments: their own module (propose, approve, reject through the service).
from accounts import adjustment_admin  # noqa: E402, F401
