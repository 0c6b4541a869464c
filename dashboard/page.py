"""The dashboard's charts, built from a span's figures (``dashboard.selectors``).

Charts of counts and rates cover every currency together; charts of amounts are drawn per
currency, in its own precision (``paysys.money.money_display``). Each chart links to the list
behind it, filtered by the same span (and currency) through the filters that list offers.
"""

from datetime import date, timedelta
from decimal import Decimal

from dashboard.charts import Chart, Series, bar_chart, rate_chart
from dashboard.links import changelist_link
from dashboard.selectors import PAYOUT_FIGURES, Figures, rate
from payments.models import Dispute, Payment, Refund
from paysys.events.models import WebhookDelivery
from paysys.money import money_display
from settlements.models import Payout, Settlement


def count(value: Decimal) -> str:
    return f"{int(value):,}"


def _created(first: date, last: date) -> dict[str, str]:
    """The date-range filter of the lists (django-admin-rangefilter's parameters)."""
    return {"created__range__gte": first.isoformat(), "created__range__lte": last.isoformat()}


def _batch_dates(first: date, last: date) -> dict[str, str]:
    """The settlements list's batch date filter (Django's date filter: end exclusive)."""
    return {"batch__date__gte": first.isoformat(), "batch__date__lt": (last + timedelta(days=1)).isoformat()}


def _column(by_day, name: str) -> dict[date, Decimal]:
    return {day: figures[name] for day, figures in by_day.items()}


def overall_charts(figures: Figures, user) -> list[Chart]:
    days, first, last = figures.days, figures.days[0], figures.days[-1]
    totals = figures.payment_totals()
    payments = bar_chart(
        Chart(
            "payments",
            "Payments per day",
            "Payments created, every currency.",
            changelist_link(user, Payment, **_created(first, last)),
            [Series("payments_count", "payments", "s1")],
            ["payments"],
        ),
        days=days,
        values={"payments_count": _column(totals, "payments_count")},
        show=count,
        whole=True,
    )
    authorization = rate_chart(
        Chart(
            "authorization",
            "Authorization success rate",
            "Authorized of the payments answered, by the day they were created.",
            changelist_link(user, Payment, **_created(first, last)),
            [Series("rate", "authorized", "s1")],
            ["authorized", "declined", "rate"],
        ),
        days=days,
        values={
            "rate": {
                day: rate(t["authorized_count"], t["authorized_count"] + t["declined_count"])
                for day, t in totals.items()
            }
        },
    )
    authorization.rows = [
        (day, [count(totals[day]["authorized_count"]), count(totals[day]["declined_count"]), *cells])
        for day, cells in authorization.rows
    ]
    disputes = bar_chart(
        Chart(
            "disputes",
            "Disputes opened and closed",
            "Opened by the day opened; won and lost by the day closed.",
            changelist_link(user, Dispute, **_created(first, last)),
            [
                Series("disputes_opened", "opened", "s3"),
                Series("disputes_won", "won", "s2"),
                Series("disputes_lost", "lost", "s4"),
            ],
            ["opened", "won", "lost"],
        ),
        days=days,
        values={name: _column(totals, name) for name in ("disputes_opened", "disputes_won", "disputes_lost")},
        show=count,
        whole=True,
        stacked=False,
    )
    return [payments, authorization, disputes, _webhooks_chart(figures, user)]


def _webhooks_chart(figures: Figures, user) -> Chart:
    days, deliveries = figures.days, figures.deliveries
    chart = rate_chart(
        Chart(
            "webhooks",
            "Webhook delivery success rate",
            "Succeeded of the deliveries tried, by the day they were created.",
            changelist_link(user, WebhookDelivery, **_created(days[0], days[-1])),
            [Series("rate", "succeeded", "s2")],
            ["succeeded", "failing", "abandoned", "pending", "rate"],
        ),
        days=days,
        values={
            "rate": {
                day: rate(d["succeeded"], d["succeeded"] + d["failed"] + d["abandoned"])
                for day, d in deliveries.items()
            }
        },
    )
    chart.rows = [
        (
            day,
            [count(deliveries[day][name]) for name in ("succeeded", "failed", "abandoned", "pending")]
            + cells,
        )
        for day, cells in chart.rows
    ]
    return chart


def currency_charts(figures: Figures, currency: str, user) -> list[Chart]:
    days, first, last = figures.days, figures.days[0], figures.days[-1]

    def money(value: Decimal) -> str:
        return money_display(value, currency)

    payments = figures.payments.get(currency) or {day: {} for day in days}

    def column(name: str) -> dict[date, Decimal]:
        return {day: payments[day].get(name, Decimal(0)) for day in days}

    volume = bar_chart(
        Chart(
            f"volume-{currency}",
            f"Captured volume, {currency}",
            "Captured amounts of the payments created each day.",
            changelist_link(user, Payment, currency=currency, **_created(first, last)),
            [Series("captured_amount", "captured", "s1")],
            ["captured", "payments captured"],
        ),
        days=days,
        values={"captured_amount": column("captured_amount")},
        show=money,
    )
    volume.rows = [(day, [*cells, count(column("captured_count")[day])]) for day, cells in volume.rows]
    refunds = bar_chart(
        Chart(
            f"refunds-{currency}",
            f"Refunds, {currency}",
            "Refunds that succeeded, by the day asked.",
            changelist_link(
                user,
                Refund,
                status__exact=Refund.RefundStatus.SUCCEEDED,
                currency=currency,
                **_created(first, last),
            ),
            [Series("refunds_amount", "refunded", "s3")],
            ["refunded", "refunds"],
        ),
        days=days,
        values={"refunds_amount": column("refunds_amount")},
        show=money,
    )
    refunds.rows = [(day, [*cells, count(column("refunds_count")[day])]) for day, cells in refunds.rows]
    settled = figures.settled.get(currency) or {day: {"net": Decimal(0), "count": Decimal(0)} for day in days}
    settlements = bar_chart(
        Chart(
            f"settled-{currency}",
            f"Settled, {currency}",
            "Net settled to merchants, by batch date.",
            changelist_link(user, Settlement, currency__exact=currency, **_batch_dates(first, last)),
            [Series("net", "net settled", "s2")],
            ["net settled", "settlements"],
        ),
        days=days,
        values={"net": _column(settled, "net")},
        show=money,
    )
    settlements.rows = [(day, [*cells, count(settled[day]["count"])]) for day, cells in settlements.rows]
    payouts_by_day = figures.payouts.get(currency) or {
        day: dict.fromkeys(PAYOUT_FIGURES, Decimal(0)) for day in days
    }
    payouts = bar_chart(
        Chart(
            f"payouts-{currency}",
            f"Payouts, {currency}",
            "Paid, on their way, on hold and failed, by batch date.",
            changelist_link(user, Payout),
            [
                Series("paid", "paid", "s2"),
                Series("in_transit", "on its way", "s1"),
                Series("on_hold", "on hold", "s3"),
                Series("failed", "failed", "s4"),
            ],
            ["paid", "on its way", "on hold", "failed"],
        ),
        days=days,
        values={name: _column(payouts_by_day, name) for name in PAYOUT_FIGURES},
        show=money,
    )
    return [volume, refunds, settlements, payouts]
