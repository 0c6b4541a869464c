"""``manage.py resolve_payments``: ask the processor about operations whose answer was lost."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from payments.services import RESOLVE_MIN_AGE, payments_resolve_processing
from paysys.audit.context import ACTOR_SYSTEM, actor_scope
from paysys.correlation import correlation_scope


class Command(BaseCommand):
    help = "Resolve payments left in processing by asking the processor about each pending operation."

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-age",
            type=int,
            default=int(RESOLVE_MIN_AGE.total_seconds()),
            help="Only operations older than this many seconds (default: %(default)s).",
        )

    def handle(self, *args, **options):
        with correlation_scope(), actor_scope(actor_type=ACTOR_SYSTEM, actor_id="resolve_payments"):
            counts = payments_resolve_processing(min_age=timedelta(seconds=options["min_age"]))
        self.stdout.write(
            f"resolved {counts['resolved']}, not sent {counts['not_sent']}, still unknown {counts['unknown']},"
            f" automatic captures retried {counts['captured']}"
        )
