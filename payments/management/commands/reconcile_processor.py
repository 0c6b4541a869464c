"""``manage.py reconcile_processor --date YYYY-MM-DD``: match each mode's processor report of a day
against processor operations and record the breaks (``payments.reconciliation``)."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from payments.reconciliation import processor_reconcile_modes
from paysys.audit.context import ACTOR_SYSTEM, actor_scope
from paysys.correlation import correlation_scope


class Command(BaseCommand):
    help = "Reconcile each mode's processor report of a day (UTC) with paysys; exit 1 when it has breaks."

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: yesterday, UTC)."
        )

    def handle(self, *args, **options):
        day = options["date"] or timezone.now().date() - timedelta(days=1)
        with correlation_scope(), actor_scope(actor_type=ACTOR_SYSTEM, actor_id="reconcile_processor"):
            runs = processor_reconcile_modes(date=day)
        breaks = 0
        for mode, counts in runs.items():
            if counts is None:
                self.stdout.write(f"{day} {mode}: skipped, no {mode} processor is configured")
                continue
            breaks += counts["breaks"]
            self.stdout.write(
                f"{day} {mode}: {counts['report_lines']} report lines, {counts['operations']} operations,"
                f" {counts['breaks']} breaks ({counts['new_breaks']} new), {counts['resolved']} resolved"
            )
        if breaks:
            raise CommandError(f"{breaks} processor breaks on {day}", returncode=1)
