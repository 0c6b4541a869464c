"""List filters (django-filter): ``created[gte]`` and ``created[lt]`` on every list.

A resource's filter set subclasses ``ListFilterSet`` and adds its own (``status``,
``currency``). Invalid values are a 400 naming the parameter.
"""

from datetime import UTC, datetime

import django_filters
from django.db.models import QuerySet
from rest_framework.request import Request

from paysys.errors import InvalidRequestError


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


class ListFilterSet(django_filters.FilterSet):
    """Base filter set; the bracketed names cannot be class attributes, so they are added below."""


# Filter names are not identifiers, so they are declared on the class after creation; subclasses
# inherit them through django-filter's metaclass (it copies a base's ``declared_filters``).
for _name, _lookup in (("created[gte]", "gte"), ("created[lt]", "lt")):
    _filter = UtcDateTimeFilter(field_name="created", lookup_expr=_lookup)
    ListFilterSet.declared_filters[_name] = _filter
    ListFilterSet.base_filters[_name] = _filter


def filter_queryset(
    filterset_class: type[ListFilterSet], *, request: Request, queryset: QuerySet
) -> QuerySet:
    for name, declared in filterset_class.base_filters.items():
        # django-filter skips empty values; an empty timestamp is malformed, not "no filter".
        if isinstance(declared, django_filters.IsoDateTimeFilter) and request.query_params.get(name) == "":
            raise InvalidRequestError(
                f"Invalid {name}: an ISO 8601 date-time is required.", code="parameter_invalid", param=name
            )
    if any(
        "\x00" in value
        for name in filterset_class.base_filters
        for value in request.query_params.getlist(name)
    ):
        # No stored value contains NUL (PostgreSQL text cannot hold it): nothing matches.
        return queryset.none()
    filterset = filterset_class(request.query_params, queryset=queryset)
    if not filterset.is_valid():
        param, messages = next(iter(filterset.errors.items()))
        raise InvalidRequestError(
            f"Invalid {param}: {' '.join(messages)}", code="parameter_invalid", param=param
        )
    return filterset.qs
