"""Search and filters that go through indexes: an operator's search is an equality, never
``icontains`` (which reads every row of a table of millions).

``ExactSearchMixin``: a term shaped like a paysys id (``pay_`` + 24 characters) is looked up by
the field its prefix names in ``search_by_prefix`` (a unique index); any other term goes to
``search_other`` (e-mail, last4, fingerprint, reference: each an equality on an indexed
column), and a term nothing matches finds nothing rather than scanning.

Filters never read a table to offer their choices: ``list_filter = ("currency",)`` on a column
without choices runs ``SELECT DISTINCT currency`` over every row on each page view (and
``date_hierarchy`` the same over its dates). A column of open values gets a text box
(``exact_filter``), one of known values the list of them (``choices_filter``), a date a range.
"""

import re
from collections.abc import Iterable

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from rangefilter.filters import DateRangeFilterBuilder, NumericRangeFilterBuilder

from paysys.audit.admin_tools import ExactTextFilter
from paysys.ids import ID_RANDOM_LENGTH

ID_PATTERN = re.compile(rf"([a-z]+)_[0-9A-Za-z]{{{ID_RANDOM_LENGTH}}}")


class ExactSearchMixin:
    search_by_prefix: dict[str, str] = {}

    def search_other(self, term: str) -> Q | None:
        """The lookup for a term that is not an id this admin knows; ``None``: nothing matches."""
        return None

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        term = search_term.strip()
        if not term:
            return queryset, False
        match = ID_PATTERN.fullmatch(term)
        if match and match.group(1) in self.search_by_prefix:
            return queryset.filter(**{self.search_by_prefix[match.group(1)]: term}), False
        lookup = self.search_other(term)
        return (queryset.filter(lookup) if lookup is not None else queryset.none()), False


def exact_filter(field: str, *, title: str, parameter: str, placeholder: str = "", upper: bool = False):
    """A sidebar text box filtering ``field`` by equality (an id, a currency code)."""

    class Filter(ExactTextFilter):
        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            value = (self.value() or "").strip()
            return queryset.filter(**{field: value.upper() if upper else value}) if value else queryset

    Filter.title = title
    Filter.parameter_name = parameter
    Filter.field = field
    Filter.placeholder = placeholder
    Filter.__name__ = f"{parameter.title().replace('_', '')}Filter"
    return Filter


def choices_filter(field: str, *, title: str, values: Iterable[str], parameter: str | None = None):
    """A sidebar list of ``values`` (known in code, not read from the table) filtering ``field``."""
    known = tuple(values)

    class Filter(admin.SimpleListFilter):
        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            return [(value, value) for value in known]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    Filter.title = title
    Filter.parameter_name = parameter or field
    Filter.__name__ = f"{(parameter or field).title().replace('_', '')}ChoicesFilter"
    return Filter


def currency_filter(field: str = "currency"):
    return exact_filter(field, title="currency", parameter="currency", placeholder="EUR", upper=True)


def merchant_filter(field: str = "merchant__public_id"):
    return exact_filter(field, title="merchant", parameter="merchant", placeholder="mer_...")


def amount_range(field: str = "amount", title: str = "amount (major units)"):
    return (field, NumericRangeFilterBuilder(title=title))


def date_range(field: str = "created", title: str = "created"):
    return (field, DateRangeFilterBuilder(title=title))
