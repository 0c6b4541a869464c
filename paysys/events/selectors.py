"""Reading events. Lists are newest first by primary key; the API layer pages them."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from paysys.errors import NotFoundError
from paysys.events.models import Event
from paysys.tenancy import Tenant


def event_get(*, event_id: str, tenant: Tenant | None = None) -> Event:
    """One event by its public id; scoped to ``tenant`` when given (another merchant's event,
    or one of the other mode, is reported exactly like a missing one)."""
    qs = Event.objects.filter(public_id=event_id)
    if tenant is not None:
        qs = tenant.scope(qs)
    event = qs.first()
    if event is None:
        raise NotFoundError(f"No such event: '{event_id}'", param="id")
    return event


def event_list(
    *,
    tenant: Tenant | None = None,
    types: Iterable[str] | None = None,
    object_id: str | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
) -> QuerySet[Event]:
    """Events, newest first, filtered by whatever is given."""
    qs = Event.objects.all()
    if tenant is not None:
        qs = tenant.scope(qs)
    if types is not None:
        qs = qs.filter(type__in=list(types))
    if object_id is not None:
        qs = qs.filter(object_id=object_id)
    if created_gte is not None:
        qs = qs.filter(created__gte=created_gte)
    if created_lt is not None:
        qs = qs.filter(created__lt=created_lt)
    return qs.order_by("-id")
