"""Writing events (the outbox) and announcing them after commit.

``event_emit`` joins the caller's transaction: the event row commits or rolls back with the
state change it describes. It costs one INSERT and no other query, because the ledger's posting
function calls it on every posting. A writer that inserts the row itself (the ledger's transfer
function on PostgreSQL) builds it with ``event_build`` and hands it to ``event_announce``.

Dispatch hook: once the transaction commits, ``event_committed`` (a Django signal, sender
``Event``, keyword argument ``event``) is sent once per event. Delivery (webhooks) connects a
receiver that queues its Celery task; with no receiver connected it does nothing. Receivers run
through ``send_robust``: a failing receiver (a broker that is down) is logged and does not stop
the others or the request; the row is still there for the delivery sweeper to pick up. A
rolled-back transaction sends nothing.
"""

from collections.abc import Mapping
from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from paysys.correlation import correlation_id_get
from paysys.events.models import CORRELATION_ID_MAX_LENGTH, Event
from paysys.events.types import event_type_check

# Sent after commit, once per committed event: ``receiver(sender=Event, event=<Event>, **kwargs)``.
event_committed = Signal()


def event_build(
    *,
    event_type: str,
    merchant_id: str | None,
    object_type: str,
    data: Mapping[str, Any],
    livemode: bool = False,
) -> Event:
    """The unsaved event ``event_emit`` writes.

    ``data`` is ``{"object": {...}}``, the object as the API shows it now; its ``id`` is copied
    to ``Event.object_id``. ``event_type`` must be one of ``paysys.events.types.EVENT_TYPES``
    (a ``ValueError`` otherwise): an event is documented before it is sent.
    """
    event_type_check(event_type)
    obj = data.get("object")
    object_id = obj.get("id", "") if isinstance(obj, Mapping) else ""
    return Event(
        type=event_type,
        merchant_id=merchant_id or "",
        object_type=object_type,
        object_id=str(object_id or ""),
        data=dict(data),
        livemode=livemode,
        correlation_id=(correlation_id_get() or "")[:CORRELATION_ID_MAX_LENGTH],
        created=timezone.now(),  # read at call time, like ``auto_now_add`` fields
    )


def event_emit(**fields: Any) -> Event:
    """Write one event in the caller's transaction; announce it after commit. ``fields`` are
    ``event_build``'s."""
    event = event_build(**fields)
    with transaction.atomic(savepoint=False):
        event.save(force_insert=True)
        event_announce(event)
    return event


def event_announce(event: Event) -> None:
    """Announce an event written in the current transaction once it commits (at once in
    autocommit, where the statement that wrote it has committed)."""
    transaction.on_commit(partial(_event_dispatch, event))


def _event_dispatch(event: Event) -> None:
    event_committed.send_robust(sender=Event, event=event)
