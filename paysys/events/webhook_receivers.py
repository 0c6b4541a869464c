"""Plugs webhook delivery into the outbox: every committed event is fanned out to endpoints.

Connected by ``EventsConfig.ready``. The outbox sends ``event_committed`` after commit through
``send_robust``, so a failure here (database or broker down) is logged and the sweeper creates
and queues whatever this missed.
"""

from django.dispatch import receiver

from paysys.events.models import Event
from paysys.events.services import event_committed
from paysys.events.webhook_services import webhook_fanout


@receiver(event_committed, sender=Event, dispatch_uid="paysys.events.webhook_fanout")
def event_committed_fanout(sender: type[Event], event: Event, **_: object) -> None:
    webhook_fanout(event=event)
