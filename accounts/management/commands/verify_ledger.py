"""``manage.py verify_ledger``: exit 0 with a summary when every ledger invariant holds, exit 1
listing the failing rows otherwise (a thin wrapper over ``accounts.services.ledger_verify``)."""

import json

from django.core.management.base import BaseCommand, CommandError

from accounts.services import ledger_verify
from paysys.audit.context import actor_scope


class Command(BaseCommand):
    help = "Check the ledger's invariants; exit 1 and list the failing rows if any is broken."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
        parser.add_argument(
            "--store", action="store_true", help="Keep the result as a LedgerVerification row."
        )

    def handle(self, *args, **options):
        with actor_scope(actor_type="system", actor_id="verify_ledger"):
            result = ledger_verify(store=options["store"])
        if options["json"]:
            self.stdout.write(
                json.dumps({"ok": result.ok, **result.summary, "failing_rows": result.failures})
            )
        else:
            summary = result.summary
            self.stdout.write(
                f"{len(summary['checks'])} checks over {summary['accounts']} accounts, "
                f"{summary['transactions']} transactions, {summary['entries']} entries"
            )
            for failure in result.failures:
                self.stdout.write(" ".join(f"{key}={value}" for key, value in failure.items()))
        if not result.ok:
            raise CommandError(
                f"ledger verification failed: {len(result.failures)} failing rows", returncode=1
            )
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS("ledger OK: every invariant holds"))
