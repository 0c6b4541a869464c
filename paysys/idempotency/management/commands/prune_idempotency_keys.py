"""manage.py prune_idempotency_keys [--hours N]"""

from datetime import timedelta

from django.core.management.base import BaseCommand

from paysys.idempotency.services import idempotency_keys_prune


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key outcomes older than the retention (24 h by default)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours", type=int, default=None, help="retention in hours (default: the setting)"
        )

    def handle(self, *args, hours, **options):
        older_than = None if hours is None else timedelta(hours=hours)
        deleted = idempotency_keys_prune(older_than=older_than)
        self.stdout.write(f"Deleted {deleted} idempotency key(s).")
