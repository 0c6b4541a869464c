"""A payment's whole story for operators, in time order, read with a fixed number of queries.

``payment_story_get`` gathers everything that happened to one payment: its audit rows (each
state transition with actor and reason), the ledger transactions posted for it (metadata
``payment``) and their reversals with every entry and the balance after it, its refunds,
disputes and processor operations, the events it emitted and each webhook delivery attempt of
those events. At most ``STORY_MAX_QUERIES`` queries whatever the payment's size (fewer when a
list is empty), each an index lookup.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model

from accounts.models import Entry, JournalTransaction
from payments.models import Payment
from paysys.audit.context import ACTOR_OPERATOR
from paysys.audit.models import AuditEvent
from paysys.errors import NotFoundError
from paysys.events.models import Event, WebhookAttempt, WebhookDelivery

STORY_MAX_QUERIES = 12
STORY_OBJECT_TYPES = ("payment", "refund", "dispute")


@dataclass
class StoryItem:
    at: datetime
    kind: str  # audit, ledger, refund, dispute, operation, event, webhook
    obj: object
    actor: str = ""
    reason: str = ""
    entries: list = field(default_factory=list)


@dataclass
class PaymentStory:
    payment: Payment
    items: list[StoryItem]


def _actor(row: AuditEvent, operators: dict[str, str]) -> str:
    if row.actor_type == ACTOR_OPERATOR:
        return f"operator {operators.get(row.actor_id, row.actor_id)}"
    return f"{row.actor_type} {row.actor_id}".strip()


def payment_story_get(*, payment_id: str) -> PaymentStory:
    payment = (
        Payment.objects.select_related("merchant", "payment_method").filter(public_id=payment_id).first()
    )
    if payment is None:
        raise NotFoundError(f"No such payment: {payment_id}.", param="payment")
    refunds = list(payment.refunds.order_by("id"))
    disputes = list(payment.disputes.order_by("id"))
    operations = list(payment.operations.order_by("id"))
    ids = [payment.public_id, *(r.public_id for r in refunds), *(d.public_id for d in disputes)]
    audit = list(
        AuditEvent.objects.filter(object_type__in=STORY_OBJECT_TYPES, object_id__in=ids).order_by("id")
    )
    operator_ids = {
        row.actor_id for row in audit if row.actor_type == ACTOR_OPERATOR and row.actor_id.isdigit()
    }
    operators = {
        str(pk): name
        for pk, name in get_user_model().objects.filter(pk__in=operator_ids).values_list("pk", "username")
    }
    posted = list(JournalTransaction.objects.filter(metadata__payment=payment.public_id))
    reversals = list(JournalTransaction.objects.filter(reverses__in=[t.pk for t in posted]))
    transactions = sorted(posted + reversals, key=lambda t: t.pk)
    entries: dict[int, list[Entry]] = {t.pk: [] for t in transactions}
    for entry in Entry.objects.filter(transaction__in=list(entries)).select_related("account").order_by("id"):
        entries[entry.transaction_id].append(entry)
    events = list(Event.objects.filter(object_id__in=ids).order_by("id"))
    deliveries = {
        d.pk: d
        for d in WebhookDelivery.objects.filter(event__in=[e.pk for e in events]).select_related(
            "endpoint", "event"
        )
    }
    attempts = list(WebhookAttempt.objects.filter(delivery__in=list(deliveries)).order_by("id"))
    for attempt in attempts:
        attempt.delivery = deliveries[attempt.delivery_id]

    items = [
        *(
            StoryItem(
                row.created,
                "audit",
                row,
                _actor(row, operators),
                row.metadata.get("reason") or row.reason_code,
            )
            for row in audit
        ),
        *(StoryItem(t.created, "ledger", t, entries=entries[t.pk]) for t in transactions),
        *(StoryItem(r.created, "refund", r) for r in refunds),
        *(StoryItem(d.created, "dispute", d) for d in disputes),
        *(StoryItem(o.created, "operation", o) for o in operations),
        *(StoryItem(e.created, "event", e) for e in events),
        *(StoryItem(a.created, "webhook", a) for a in attempts),
    ]
    items.sort(key=lambda item: item.at)
    return PaymentStory(payment=payment, items=items)
