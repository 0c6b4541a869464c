"""Keeping the dashboard's daily figures current (``dashboard.models``).

Every minute a beat task (``paysys.dashboard.days_refresh``) recomputes the days whose figures
can still change: today and the ``PAYSYS_AUTHORIZATION_TTL_DAYS`` before it. A payment is
counted on the day it was created, and every outcome counted there (authorized, declined,
captured) comes within that TTL: an authorization not captured by then is voided. Refunds,
deliveries and disputes are counted on days their own rows fix (created, closed), and their
outcomes come within the same span (a refund's answer, a delivery's retry schedule of about
three days). What changes later than that (an operator re-sending an old delivery) shows when
the span is refreshed by ``manage.py refresh_dashboard --from``.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import transaction

from dashboard.persistence import days_rewrite, first_day


@dataclass(frozen=True)
class Span:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"a span ends on or after its first day: {self.first} > {self.last}")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def today() -> date:
    return datetime.now(UTC).date()


def changing_days() -> Span:
    """The days whose figures may still change: today and the authorization TTL before it."""
    last = today()
    return Span(first=last - timedelta(days=settings.PAYSYS_AUTHORIZATION_TTL_DAYS), last=last)


def all_days() -> Span | None:
    """Every day since the first payment or delivery; ``None`` when there is none."""
    first = first_day()
    return Span(first=first, last=max(first, today())) if first is not None else None


@transaction.atomic
def days_refresh(*, span: Span | None = None) -> Span:
    """Recompute the figures of the days of ``span``; by default of the days that may still change."""
    span = span or changing_days()
    days_rewrite(first=span.first, last=span.last)
    return span
