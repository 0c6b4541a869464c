"""What the dashboard's charts show: a span of days, per currency where there are amounts.

Three statements whatever the data size: the daily figures of payments and of deliveries
(``dashboard.models``, one row per day, merchant, currency and mode at most), and the
settlements of the span's batch dates with their payouts (a batch per day, a settlement per
merchant and currency, a payout per settlement), each grouped by the database.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum

from dashboard.models import DeliveryDay, PaymentDay
from settlements.models import Payout, Settlement

ZERO = Decimal(0)
PAYMENT_FIGURES = (
    "payments_count",
    "payments_amount",
    "authorized_count",
    "declined_count",
    "captured_count",
    "captured_amount",
    "refunds_count",
    "refunds_amount",
    "disputes_opened",
    "disputes_amount",
    "disputes_won",
    "disputes_lost",
)
DELIVERY_FIGURES = ("succeeded", "failed", "pending", "abandoned")
# How the dashboard draws payouts: pending and in transit are both money on its way.
PAYOUT_SERIES = {
    Payout.Status.PAID: "paid",
    Payout.Status.PENDING: "in_transit",
    Payout.Status.IN_TRANSIT: "in_transit",
    Payout.Status.ON_HOLD: "on_hold",
    Payout.Status.FAILED: "failed",
}
PAYOUT_FIGURES = ("paid", "in_transit", "on_hold", "failed")


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass
class Figures:
    """The figures of one span: ``payments[currency][day][figure]`` and so on; zero where absent."""

    days: list[date]
    payments: dict[str, dict[date, dict[str, Decimal]]] = field(default_factory=dict)
    deliveries: dict[date, dict[str, int]] = field(default_factory=dict)
    settled: dict[str, dict[date, dict[str, Decimal]]] = field(default_factory=dict)
    payouts: dict[str, dict[date, dict[str, Decimal]]] = field(default_factory=dict)

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.payments) | set(self.settled) | set(self.payouts))

    def payment_totals(self) -> dict[date, dict[str, Decimal]]:
        """The currency-free figures (counts) of every currency together, per day."""
        totals = {day: dict.fromkeys(PAYMENT_FIGURES, ZERO) for day in self.days}
        for by_day in self.payments.values():
            for day, figures in by_day.items():
                for name, value in figures.items():
                    if name.endswith(("_count", "_opened", "_won", "_lost")):
                        totals[day][name] += value
        return totals


def _zeros(days: list[date], names: tuple[str, ...]) -> dict[date, dict[str, Decimal]]:
    return {day: dict.fromkeys(names, ZERO) for day in days}


def figures_get(*, first: date, last: date, livemode: bool) -> Figures:
    days = days_of(first, last)
    figures = Figures(days=days)
    payment_rows = (
        PaymentDay.objects.filter(day__range=(first, last), livemode=livemode)
        .values("day", "currency")
        .annotate(**{name: Sum(name) for name in PAYMENT_FIGURES})
    )
    for row in payment_rows:
        by_day = figures.payments.setdefault(row["currency"], _zeros(days, PAYMENT_FIGURES))
        by_day[row["day"]] = {name: row[name] for name in PAYMENT_FIGURES}
    figures.deliveries = {day: dict.fromkeys(DELIVERY_FIGURES, 0) for day in days}
    for row in DeliveryDay.objects.filter(day__range=(first, last), livemode=livemode).values(
        "day", *DELIVERY_FIGURES
    ):
        figures.deliveries[row["day"]] = {name: row[name] for name in DELIVERY_FIGURES}
    # A settlement and its payout (a completed settlement with a net has one) in one pass.
    settled_rows = (
        Settlement.objects.filter(
            batch__date__range=(first, last), livemode=livemode, status=Settlement.Status.COMPLETED
        )
        .values("batch__date", "currency", "payout__status")
        .annotate(net=Sum("net"), count=Count("id"), paid_out=Sum("payout__amount"))
    )
    for row in settled_rows:
        day, currency = row["batch__date"], row["currency"]
        settled = figures.settled.setdefault(currency, _zeros(days, ("net", "count")))[day]
        settled["net"] += row["net"]
        settled["count"] += row["count"]
        if row["payout__status"] is not None:
            payouts = figures.payouts.setdefault(currency, _zeros(days, PAYOUT_FIGURES))[day]
            payouts[PAYOUT_SERIES[row["payout__status"]]] += row["paid_out"]
    return figures


def rate(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part`` of ``whole`` in per cent (one decimal), or ``None`` when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))
