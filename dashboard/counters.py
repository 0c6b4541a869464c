"""The counters that call for an operator's action, each with the list it counts.

One statement each, every one through an index whose rows are the few that need action (a
partial index on the review queue, disputes awaiting evidence, payouts on hold, open breaks,
proposed adjustments and unfinished deliveries), or on a table of a row per endpoint; so the
cost does not grow with the payments. Both modes are counted: a test payment in review waits
for an operator too.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from accounts.adjustment_models import Adjustment, AdjustmentStatus
from accounts.health_admin import HEALTH_PAGE
from accounts.models import LedgerVerification
from dashboard.links import Link, changelist_link, page_link
from payments.models import Dispute, Payment
from payments.states import Status
from paysys.audit.models import AuditVerification
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from settlements.models import Payout, SettlementBreak

# Disputes whose evidence is due within this many days are "due soon".
DISPUTES_DUE_WITHIN_DAYS = 3
UNDELIVERED = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED)


@dataclass(frozen=True)
class Counter:
    key: str
    label: str
    value: int | str
    detail: str
    link: Link | None
    # Whether the counter asks for action now (drawn as an alert).
    alert: bool

    @property
    def is_text(self) -> bool:
        return not isinstance(self.value, int)


def _since(moment: datetime | None) -> str:
    return f"oldest {timezone.localtime(moment):%Y-%m-%d %H:%M} UTC" if moment else ""


def _verification(key: str, label: str, row, link: Link | None) -> Counter:
    if row is None:
        return Counter(key, label, "never run", "", link, alert=True)
    return Counter(
        key,
        label,
        "ok" if row.ok else "FAILED",
        f"{timezone.localtime(row.created):%Y-%m-%d %H:%M} UTC",
        link,
        alert=not row.ok,
    )


def counters_get(user) -> list[Counter]:
    now = timezone.now()
    review = Payment.objects.filter(status=Status.REQUIRES_REVIEW).aggregate(
        n=Count("id"), oldest=Min("created")
    )
    due_by = now + timedelta(days=DISPUTES_DUE_WITHIN_DAYS)
    disputes = Dispute.objects.filter(
        status=Dispute.DisputeStatus.NEEDS_RESPONSE, evidence_due_by__lte=due_by
    ).aggregate(n=Count("id"), first_due=Min("evidence_due_by"))
    endpoints = WebhookEndpoint.objects.aggregate(
        disabled=Count("id", filter=Q(status=WebhookEndpoint.Status.DISABLED)),
        failing=Count("id", filter=Q(status=WebhookEndpoint.Status.ENABLED, failing_since__isnull=False)),
    )
    on_hold = Payout.objects.filter(status=Payout.Status.ON_HOLD).count()
    breaks = SettlementBreak.objects.filter(resolved_at__isnull=True).count()
    adjustments = Adjustment.objects.filter(status=AdjustmentStatus.PROPOSED).aggregate(
        n=Count("id"), oldest=Min("created")
    )
    oldest_undelivered = (
        WebhookDelivery.objects.filter(status__in=UNDELIVERED)
        .select_related("event")
        .order_by("created")
        .only("created", "event__public_id", "event__type")
        .first()
    )
    ledger = LedgerVerification.objects.order_by("-id").first()
    audit = AuditVerification.objects.order_by("-id").first()
    health = page_link(user, HEALTH_PAGE)
    return [
        Counter(
            "review",
            "Review queue",
            review["n"],
            _since(review["oldest"]),
            changelist_link(user, Payment, status__exact=Status.REQUIRES_REVIEW),
            alert=review["n"] > 0,
        ),
        Counter(
            "disputes_due",
            f"Disputes due within {DISPUTES_DUE_WITHIN_DAYS} days",
            disputes["n"],
            f"first due {timezone.localtime(disputes['first_due']):%Y-%m-%d %H:%M} UTC"
            if disputes["first_due"]
            else "",
            changelist_link(
                user,
                Dispute,
                status__exact=Dispute.DisputeStatus.NEEDS_RESPONSE,
                evidence_due_by__range__lte=due_by.date().isoformat(),
            ),
            alert=disputes["n"] > 0,
        ),
        Counter(
            "endpoints_failing",
            "Webhook endpoints failing",
            endpoints["failing"],
            "every attempt failing",
            changelist_link(
                user,
                WebhookEndpoint,
                status__exact=WebhookEndpoint.Status.ENABLED,
                failing_since__isnull="False",
            ),
            alert=endpoints["failing"] > 0,
        ),
        Counter(
            "endpoints_disabled",
            "Webhook endpoints disabled",
            endpoints["disabled"],
            "",
            changelist_link(user, WebhookEndpoint, status__exact=WebhookEndpoint.Status.DISABLED),
            alert=endpoints["disabled"] > 0,
        ),
        Counter(
            "payouts_on_hold",
            "Payouts on hold",
            on_hold,
            "",
            changelist_link(user, Payout, status__exact=Payout.Status.ON_HOLD),
            alert=on_hold > 0,
        ),
        Counter(
            "breaks",
            "Settlement breaks unresolved",
            breaks,
            "",
            changelist_link(user, SettlementBreak, resolved_at__isempty="1"),
            alert=breaks > 0,
        ),
        Counter(
            "adjustments",
            "Adjustments awaiting approval",
            adjustments["n"],
            _since(adjustments["oldest"]),
            changelist_link(user, Adjustment, status__exact=AdjustmentStatus.PROPOSED),
            alert=adjustments["n"] > 0,
        ),
        Counter(
            "undelivered",
            "Oldest undelivered event",
            oldest_undelivered.event.public_id if oldest_undelivered else "none",
            f"{oldest_undelivered.event.type}, {_since(oldest_undelivered.created)}"
            if oldest_undelivered
            else "",
            changelist_link(user, WebhookDelivery, q=oldest_undelivered.event.public_id)
            if oldest_undelivered
            else changelist_link(user, WebhookDelivery),
            alert=oldest_undelivered is not None,
        ),
        _verification("verify_ledger", "Last verify_ledger", ledger, health),
        _verification("verify_audit", "Last verify_audit", audit, health),
    ]
