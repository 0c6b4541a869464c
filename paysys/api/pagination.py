"""Seek pagination: ``limit`` (1-100, default 10), ``starting_after`` (an object id), newest first.

Pages are ordered by primary key descending and the cursor seeks by the primary key of the
``starting_after`` object (``pk < anchor``; an unknown one is a 404), so rows inserted while a client pages through a
list appear on no page it has not yet read twice and shift nothing: no row is skipped or
repeated, whatever is inserted concurrently. The anchor is looked up in the view's
``get_queryset()`` — the merchant's own objects, before filters, so an object whose status
changed still works as a cursor — and another merchant's id is as unknown as a made-up one.

The list body is ``{"object": "list", "data": [...], "has_more": bool}``; the paginator states
its parameters and that body in the OpenAPI schema (DRF's ``get_schema_operation_parameters``
and ``get_paginated_response_schema``).
"""

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from paysys.errors import InvalidRequestError, NotFoundError
from paysys.ids import ID_MAX_LENGTH

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def list_body(data: list, *, has_more: bool) -> dict:
    """The list body, paginated or not (an event's resend answers every delivery at once)."""
    return {"object": "list", "data": data, "has_more": has_more}


def page_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequestError(
            f"Invalid limit: must be an integer from 1 to {MAX_LIMIT}.",
            code="parameter_invalid",
            param="limit",
        )
    return int(raw)


class StartingAfterPagination(BasePagination):
    """One page of the view's filtered queryset, after the ``starting_after`` object.

    ``id_field`` is the field a public id is matched against; a subclass whose objects derive
    their id from the row sets it to ``pk`` and overrides ``decode_id`` (raising ``ValueError``
    for an id that is not one of them).
    """

    id_field = "public_id"

    def decode_id(self, public_id: str) -> object:
        return public_id

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: object = None) -> list:
        limit = page_limit(request)
        ordered = queryset.order_by("-pk")
        # An empty cursor is no cursor (``?starting_after=`` from a client with nothing to pass).
        starting_after = request.query_params.get("starting_after") or None
        if starting_after is not None:
            ordered = ordered.filter(pk__lt=self._anchor_pk(starting_after, view.get_queryset()))
        rows = list(ordered[: limit + 1])
        self.has_more = len(rows) > limit
        return rows[:limit]

    def _anchor_pk(self, starting_after: str, anchors: QuerySet) -> int:
        try:
            value = self.decode_id(starting_after)
        except ValueError:
            value = None
        if isinstance(value, str) and "\x00" in value:
            value = None  # no stored id holds NUL
        anchor_pk = (
            None
            if value is None
            else anchors.filter(**{self.id_field: value}).values_list("pk", flat=True).first()
        )
        if anchor_pk is None:
            raise NotFoundError(f"No such object: '{starting_after}'.", param="starting_after")
        return anchor_pk

    def get_paginated_response(self, data: list) -> Response:
        return Response(list_body(data, has_more=self.has_more))

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "properties": {
                "object": {"type": "string", "description": "Always `list`."},
                "data": schema,
                "has_more": {"type": "boolean"},
            },
            "required": ["data", "has_more", "object"],
        }

    def get_schema_operation_parameters(self, view: object) -> list[dict]:
        return [
            {
                "in": "query",
                "name": "limit",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                "description": f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}.",
            },
            {
                "in": "query",
                "name": "starting_after",
                "schema": {"type": "string", "maxLength": ID_MAX_LENGTH},
                "description": "An object id: the page after it. An id that is not one of yours is a 404.",
            },
        ]
