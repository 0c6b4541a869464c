"""Recompute the dashboard's daily figures: the days that may still change, or a chosen span.

``manage.py refresh_dashboard`` does what the beat task does every minute;
``--from 2026-01-01 [--to 2026-01-31]`` recomputes those days (to today by default), and
``--all`` every day since the first payment or delivery (a backfill, after restoring data).
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dashboard.services import Span, all_days, days_refresh, today


class Command(BaseCommand):
    help = "Recompute the dashboard's daily figures (the days that may still change, or a span)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="first", type=date.fromisoformat, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="last", type=date.fromisoformat, help="last day, YYYY-MM-DD")
        parser.add_argument("--all", action="store_true", help="every day since the first payment")

    def handle(self, *args, first: date | None, last: date | None, all: bool, **options) -> None:
        if all and (first or last):
            raise CommandError("give --all, or --from [--to], not both")
        if last and not first:
            raise CommandError("--to needs --from")
        span = None
        if all:
            span = all_days()
            if span is None:
                self.stdout.write("nothing to count: no payment and no delivery yet")
                return
        elif first:
            try:
                span = Span(first=first, last=last or today())
            except ValueError as error:
                raise CommandError(str(error)) from None
        with transaction.atomic():
            span = days_refresh(span=span)
        self.stdout.write(f"refreshed {span.days} days: {span.first} to {span.last}")
