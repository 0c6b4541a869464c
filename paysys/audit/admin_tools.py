"""Admin building blocks for the audit log and events (the read-only base classes are in
``paysys.admin.base``).

``ExactTextFilter`` is a sidebar text box filtering one column
by equality: for high-cardinality columns (a merchant id, an object id) where Django's
"all values" filter would scan the whole table to list them.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

TEXT_FILTER_TEMPLATE = "admin/audit/text_filter.html"


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
