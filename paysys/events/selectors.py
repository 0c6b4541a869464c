"""Reading events. Lists are newest first by primary key; the API layer pages them."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from paysys.errors import NotFoundError
from paysys.events.models import Event


def event_get(*, event_id: str, merchant_id: str | None = None) -> Event:
    """One event by its public id; scoped to ``merchant_id`` when given (another merchant's
    event is reported exactly like a missing one)."""
    qs = Event.objects.filter(public_id=event_id)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    event = qs.first()
    if event is None:
        raise NotFoundError(f"No such event: '{event_id}'", param="id")
    return event


def event_list(
    *,
    merchant_id: str | None = None,
    types: Iterable[str] | None = None,
    object_id: str | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
) -> QuerySet[Event]:
    """Events, newest first, filtered by whatever is given."""
    qs = Event.objects.all()
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if types is not None:
        qs = qs.filter(type__in=list(types))
    if object_id is not None:
        qs = qs.filter(object_id=object_id)
    if created_gte is not None:
        qs = qs.filter(created__gte=created_gte)
    if created_lt is not None:
        qs = qs.filter(created__lt=created_lt)
    return qs.order_by("-id")
