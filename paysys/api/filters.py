"""List filters (django-filter): ``created[gte]`` and ``created[lt]`` on every list.

A resource's filter set subclasses ``ListFilterSet`` and adds its own (``status``,
``currency``, an id). Every value is checked before any is applied, and each bad one is a 400
naming its parameter: an empty value, one longer than ``FILTER_VALUE_MAX_LENGTH`` or with a
character no id, status or event type has (NUL among them: PostgreSQL text cannot hold it), a
value outside a choice filter's choices or ``CurrencyFilter``'s supported currencies, a
malformed date-time. ``filter_parameters`` states the same limits in the OpenAPI schema.
"""

import re
from datetime import UTC, datetime

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
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
for _name, _lookup in (("created[gte]", "gte"), ("created[lt]", "lt")):
    _filter = UtcDateTimeFilter(field_name="created", lookup_expr=_lookup)
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


def filter_queryset(
    filterset_class: type[ListFilterSet], *, request: Request, queryset: QuerySet
) -> QuerySet:
    for name, declared in filterset_class.base_filters.items():
        if isinstance(declared, django_filters.IsoDateTimeFilter):
            values = [value for value in request.query_params.getlist(name) if value == ""]
        else:
            values = request.query_params.getlist(name)
        for value in values:
            _value_check(name, value)
    filterset = filterset_class(request.query_params, queryset=queryset)
    if not filterset.is_valid():
        param, messages = next(iter(filterset.errors.items()))
        raise InvalidRequestError(
            f"Invalid {param}: {' '.join(messages)}", code="parameter_invalid", param=param
        )
    return filterset.qs


def filter_parameters(filterset_class: type[ListFilterSet]) -> list[OpenApiParameter]:
    """The OpenAPI parameters of a filter set's own filters (``created[…]`` are in LIST_PARAMETERS)."""
    parameters = []
    for name, declared in filterset_class.base_filters.items():
        if isinstance(declared, django_filters.IsoDateTimeFilter):
            continue
        if isinstance(declared, CurrencyFilter):
            schema = {"type": "string", "enum": sorted(supported_currencies())}
        elif isinstance(declared, django_filters.ChoiceFilter):
            schema = {"type": "string", "enum": [str(value) for value, _label in declared.extra["choices"]]}
        else:
            schema = {
                "type": "string",
                "minLength": 1,
                "maxLength": FILTER_VALUE_MAX_LENGTH,
                "pattern": f"^[{FILTER_VALUE_CHARACTERS}]*$",
            }
        parameters.append(OpenApiParameter(name, schema))
    return parameters
