"""Cursor pagination: ``limit`` (1-100, default 10), ``starting_after`` (an object id), newest first.

Pages are ordered by primary key descending and the cursor seeks by the primary key of the
``starting_after`` object (``pk < anchor``; an unknown one is a 404), so rows inserted while a client pages through a
list appear on no page it has not yet read twice and shift nothing: no row is skipped or
repeated, whatever is inserted concurrently. The anchor is looked up in the merchant's own
objects: another merchant's id is as unknown as a made-up one.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from rest_framework.request import Request

from paysys.errors import InvalidRequestError, NotFoundError

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    items: list
    has_more: bool


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


def paginate(
    queryset: QuerySet,
    *,
    request: Request,
    anchor_queryset: QuerySet | None = None,
    id_field: str = "public_id",
    decode_id: Callable[[str], object] | None = None,
) -> Page:
    """One page of ``queryset`` (already scoped to the merchant and filtered).

    ``anchor_queryset`` (default: ``queryset``) is where ``starting_after`` is looked up: the
    merchant-scoped set before filters, so an object whose status changed still works as a cursor.
    ``decode_id`` turns the public id into the ``id_field`` value for objects whose id is derived
    from their row (it raises ``ValueError`` for an id that is not one of them).
    """
    limit = page_limit(request)
    ordered = queryset.order_by("-pk")
    # An empty cursor is no cursor (``?starting_after=`` from a client with nothing to pass).
    starting_after = request.query_params.get("starting_after") or None
    if starting_after is not None:
        anchors = anchor_queryset if anchor_queryset is not None else queryset
        try:
            value = decode_id(starting_after) if decode_id is not None else starting_after
        except ValueError:
            value = None
        if isinstance(value, str) and "\x00" in value:
            value = None  # no stored id holds NUL
        anchor_pk = (
            None
            if value is None
            else anchors.filter(**{id_field: value}).values_list("pk", flat=True).first()
        )
        if anchor_pk is None:
            raise NotFoundError(f"No such object: '{starting_after}'.", param="starting_after")
        ordered = ordered.filter(pk__lt=anchor_pk)
    rows = list(ordered[: limit + 1])
    return Page(items=rows[:limit], has_more=len(rows) > limit)
