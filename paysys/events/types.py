"""The event types paysys sends: one list, which the webhook subscriptions, the OpenAPI schema and
docs/webhooks.md use, and outside which no event is written (``event_build`` refuses it).

Every event's ``data.object`` is the object named here, as the API shows it at that moment. The
public contract (API.md) lists the minimum; the others say what a payment, refund or dispute
went through on the way, as Stripe's ``payment_intent.*`` events do, and a merchant who
subscribes with ``["*"]`` receives them all.
"""

from dataclasses import dataclass

WILDCARD_EVENT = "*"
ENDPOINT_DISABLED_EVENT = "webhook_endpoint.disabled"


@dataclass(frozen=True)
class EventType:
    object: str  # the type of ``data.object``
    when: str  # when it is sent, as docs/webhooks.md says


EVENT_TYPES: dict[str, EventType] = {
    "payment.created": EventType(
        "payment", "A payment was created, before its authorization is asked for (status `processing`)."
    ),
    "payment.processing": EventType(
        "payment",
        "An operation on the payment (a 3-D Secure confirmation, a capture, a cancel) went to the "
        "processor and its answer is awaited.",
    ),
    "payment.requires_action": EventType(
        "payment",
        "The card asks for a 3-D Secure-like challenge: confirm the payment (also sent when a "
        "confirmation never reached the processor).",
    ),
    "payment.requires_review": EventType(
        "payment",
        "Risk rules hold the payment for an operator's review (also sent when a cancel of a "
        "payment in review never reached the processor).",
    ),
    "payment.authorized": EventType(
        "payment",
        "The authorization succeeded (a card, an approved review or a wallet hold): the payment "
        "awaits capture (`requires_capture`); an automatic capture follows at once.",
    ),
    "payment.requires_capture": EventType(
        "payment",
        "A capture or cancel never reached the processor: the payment awaits capture again.",
    ),
    "payment.captured": EventType(
        "payment", "Funds were captured, fully or partly (`amount_captured`, `fee`, `net`)."
    ),
    "payment.succeeded": EventType("payment", "The payment succeeded; sent with `payment.captured`."),
    "payment.failed": EventType(
        "payment", "The payment failed: declined, a failed challenge, or a processor error (`failure_code`)."
    ),
    "payment.canceled": EventType(
        "payment", "The payment was canceled: by you, by a declined review, or expired uncaptured."
    ),
    "payment.refunded": EventType(
        "payment", "A refund was created on the payment: `amount_refunded` and `refunded` changed."
    ),
    "refund.succeeded": EventType("refund", "A refund succeeded."),
    "refund.failed": EventType(
        "refund", "A refund failed at the processor; its amount is back on your balance."
    ),
    "dispute.created": EventType("dispute", "A dispute was opened; its amount and fee are debited."),
    "dispute.updated": EventType("dispute", "Evidence was saved or submitted (`under_review`)."),
    "dispute.closed": EventType("dispute", "A dispute was won or lost (`status`)."),
    "transfer.created": EventType("transfer", "A transfer between your accounts was posted."),
    "transfer.reversed": EventType("transfer", "A transfer was reversed."),
    "top_up.succeeded": EventType(
        "top_up", "A top-up's payment was captured: the wallet was credited the top-up's `net`."
    ),
    "top_up.failed": EventType(
        "top_up",
        "A top-up's payment failed, was voided or expired (`failure_code`); the wallet was not credited.",
    ),
    "settlement.completed": EventType("settlement", "A settlement of your captured funds completed."),
    "payout.paid": EventType("payout", "A payout arrived."),
    "payout.failed": EventType("payout", "A payout failed."),
    ENDPOINT_DISABLED_EVENT: EventType(
        "webhook_endpoint",
        "paysys disabled one of your endpoints (it answered 410, or failed for 3 days); sent to "
        "your other endpoints.",
    ),
}

# What the OpenAPI schema enumerates: an event's type, and what ``enabled_events`` takes (named
# ``EventTypeEnum`` and ``EnabledEventEnum`` by settings.SPECTACULAR_SETTINGS).
EVENT_TYPE_CHOICES = list(EVENT_TYPES)
ENABLED_EVENT_CHOICES = [WILDCARD_EVENT, *EVENT_TYPES]


def event_type_check(event_type: str) -> None:
    """Refuse an event type the list above does not hold: what is sent is what is documented."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"event type {event_type!r} is not in paysys.events.types.EVENT_TYPES")
