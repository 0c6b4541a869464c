"""List filters (django-filter): ``created[gte]`` and ``created[lt]`` on every list.

A list view names its filter set (``filterset_class``, a subclass of ``ListFilterSet`` adding
the resource's own: ``status``, ``currency``, an id); ``PaysysFilterBackend`` applies it, or
``ListFilterSet`` for a view that names none. Every value is checked before any is applied, and
each bad one is a 400 naming its parameter: an empty value, one longer than
``FILTER_VALUE_MAX_LENGTH`` or with a character no id, status or event type has (NUL among
them: PostgreSQL text cannot hold it), a value outside a choice filter's choices or
``CurrencyFilter``'s supported currencies, a malformed date-time. The backend states the same
limits in the OpenAPI schema (``get_schema_operation_parameters``).
"""

import re
from datetime import UTC, datetime

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request

from paysys.api.fields import supported_currencies
from paysys.errors import InvalidRequestError
from paysys.money import currency_from_api

# What a filter value other than a date-time can be: an id, a status, a currency, an event type.
FILTER_VALUE_MAX_LENGTH = 64
FILTER_VALUE_CHARACTERS = "A-Za-z0-9_.:*-"
FILTER_VALUE_PATTERN = re.compile(f"[{FILTER_VALUE_CHARACTERS}]{{1,{FILTER_VALUE_MAX_LENGTH}}}")


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 timestamp, compared in UTC.

    Python accepts offsets up to ±23:59, PostgreSQL only up to ±15:59; converting first keeps
    a legal but exotic offset from reaching the database (a timestamp that leaves the
    calendar once converted is a 400).
    """

    def filter(self, qs: QuerySet, value: datetime | None) -> QuerySet:
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                raise InvalidRequestError(
                    f"Invalid {self.field_name} filter: the date-time is out of range.",
                    code="parameter_invalid",
                    param=f"{self.field_name}[{self.lookup_expr}]",
                ) from None
        return super().filter(qs, value)


class CurrencyFormField(forms.CharField):
    def validate(self, value: str) -> None:
        super().validate(value)
        if value and value not in supported_currencies():
            raise forms.ValidationError(f"{value!r} is not a supported lower-case ISO 4217 currency code.")


class CurrencyFilter(django_filters.CharFilter):
    """A supported lower-case currency code, matched against the upper-case column."""

    field_class = CurrencyFormField

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        return super().filter(qs, currency_from_api(value) if value else value)


class ListFilterSet(django_filters.FilterSet):
    """Base filter set; the bracketed names cannot be class attributes, so they are added below."""


# Filter names are not identifiers, so they are declared on the class after creation; subclasses
# inherit them through django-filter's metaclass (it copies a base's ``declared_filters``).
for _name, _lookup, _help_text in (
    ("created[gte]", "gte", "Created at or after (ISO 8601)."),
    ("created[lt]", "lt", "Created before (ISO 8601)."),
):
    _filter = UtcDateTimeFilter(field_name="created", lookup_expr=_lookup, help_text=_help_text)
    ListFilterSet.declared_filters[_name] = _filter
    ListFilterSet.base_filters[_name] = _filter


def _value_check(name: str, value: str) -> None:
    if not FILTER_VALUE_PATTERN.fullmatch(value):
        raise InvalidRequestError(
            f"Invalid {name}: 1 to {FILTER_VALUE_MAX_LENGTH} letters, digits or '_.:*-' "
            "(leave the parameter out to not filter).",
            code="parameter_invalid",
            param=name,
        )


class PaysysFilterBackend(DjangoFilterBackend):
    """django-filter's backend with the API's checks, its 400 shape and its schema."""

    def get_filterset_class(self, view: object, queryset: QuerySet | None = None) -> type[ListFilterSet]:
        return super().get_filterset_class(view, queryset) or ListFilterSet

    def filter_queryset(self, request: Request, queryset: QuerySet, view: object) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        for name, declared in filterset_class.base_filters.items():
            if isinstance(declared, django_filters.IsoDateTimeFilter):
                values = [value for value in request.query_params.getlist(name) if value == ""]
            else:
                values = request.query_params.getlist(name)
            for value in values:
                _value_check(name, value)
        filterset = self.get_filterset(request, queryset, view)
        if not filterset.is_valid():
            param, messages = next(iter(filterset.errors.items()))
            raise InvalidRequestError(
                f"Invalid {param}: {' '.join(messages)}", code="parameter_invalid", param=param
            )
        return filterset.qs

    def get_schema_operation_parameters(self, view: object) -> list[dict]:
        parameters = []
        for name, declared in self.get_filterset_class(view).base_filters.items():
            parameter = {"in": "query", "name": name, "schema": _filter_schema(declared)}
            if declared.extra.get("help_text"):
                parameter["description"] = declared.extra["help_text"]
            parameters.append(parameter)
        return parameters


def _filter_schema(declared: django_filters.Filter) -> dict:
    if isinstance(declared, django_filters.IsoDateTimeFilter):
        return {"type": "string", "format": "date-time"}
    if isinstance(declared, CurrencyFilter):
        return {"type": "string", "enum": sorted(supported_currencies())}
    if isinstance(declared, django_filters.ChoiceFilter):
        return {"type": "string", "enum": [str(value) for value, _label in declared.extra["choices"]]}
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": FILTER_VALUE_MAX_LENGTH,
        "pattern": f"^[{FILTER_VALUE_CHARACTERS}]*$",
    }
