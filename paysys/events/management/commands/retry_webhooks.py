"""``manage.py retry_webhooks [--force] [--json]``: re-queue every webhook delivery due now.

The beat sweeper does this every few seconds; the command is for operators (after an outage of
the broker or the workers). ``--force`` also re-sends deliveries whose message went out moments
ago; duplicates are harmless (the task skips what is done or in flight).
"""

import json

from django.core.management.base import BaseCommand

from paysys.events.webhook_services import webhook_retry_due


class Command(BaseCommand):
    help = "Re-queue every webhook delivery that is due now."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Also re-send messages sent moments ago.")
        parser.add_argument("--json", action="store_true", help='Print {"requeued": N}.')

    def handle(self, *args, **options):
        requeued = webhook_retry_due(force=options["force"])
        if options["json"]:
            self.stdout.write(json.dumps({"requeued": requeued}))
        else:
            self.stdout.write(f"Re-queued {requeued} webhook deliveries.")
