"""Admin building blocks for records nobody edits: the audit log, events, ledger entries.

``ReadOnlyAdminMixin`` removes add, change and delete (and the bulk-delete action), leaving the
list and a view-only detail page. ``ExactTextFilter`` is a sidebar text box filtering one column
by equality: for high-cardinality columns (a merchant id, an object id) where Django's
"all values" filter would scan the whole table to list them.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

TEXT_FILTER_TEMPLATE = "admin/audit/text_filter.html"


class ReadOnlyAdminMixin:
    # Counting millions of rows for "N of M" on every page is not worth it.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ExactTextFilter(admin.SimpleListFilter):
    """Subclass with ``title``, ``parameter_name`` and ``field`` (the column to match)."""

    template = TEXT_FILTER_TEMPLATE
    field: str = ""
    placeholder: str = ""

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> tuple:
        return ()

    def has_output(self) -> bool:
        return True

    def choices(self, changelist):
        hidden = [(name, value) for name, value in changelist.params.items() if name != self.parameter_name]
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value(),
            "hidden": hidden,
            "placeholder": self.placeholder,
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        return queryset.filter(**{self.field: value})
