"""manage.py seed_demo [--days N]: the demo merchant, an admin user and, with --days, their history.

Thin: the merchant and the admin come from ``merchants.services.demo_seed``, the history from
``demo.history.demo_history_seed``; both are idempotent.
"""

import time
from collections import Counter
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.history import PAYMENTS_PER_DAY, demo_history_seed
from demo.selectors import demo_history_summary
from merchants.services import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME, demo_seed
from paysys.audit.context import ACTOR_SYSTEM, actor_scope

MAX_DAYS = 366
MAX_PAYMENTS_PER_DAY = 10_000


class Command(BaseCommand):
    help = (
        "Create (once) a demo merchant and an admin user; print the admin URL, credentials and a "
        "fresh API key. With --days N, also write the merchant's last N days of business (once)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=0,
            help="Write the demo merchant's payments, refunds, disputes, settlements, payouts and "
            "webhook deliveries of the last N days (days already written are skipped).",
        )
        parser.add_argument(
            "--payments-per-day",
            type=int,
            default=PAYMENTS_PER_DAY,
            help=f"About this many payments a weekday, a quarter more at weekends (default {PAYMENTS_PER_DAY}).",
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates well-known credentials; it does not run in production.")
        days = options["days"]
        if not 0 <= days <= MAX_DAYS:
            raise CommandError(f"--days is between 0 and {MAX_DAYS}.")
        if not 1 <= options["payments_per_day"] <= MAX_PAYMENTS_PER_DAY:
            raise CommandError(f"--payments-per-day is between 1 and {MAX_PAYMENTS_PER_DAY}.")
        with actor_scope(actor_type=ACTOR_SYSTEM, actor_id="seed_demo"):
            seeded = demo_seed()
            if days:
                self._history(seeded.merchant.public_id, days, options["payments_per_day"])
        base_url = f"http://127.0.0.1:{settings.PAYSYS_PORT}"
        self.stdout.write(
            f"Admin: {base_url}/admin/  user {DEMO_ADMIN_USERNAME}  password {DEMO_ADMIN_PASSWORD}"
        )
        state = "created" if seeded.merchant_created else "already there"
        self.stdout.write(f"Demo merchant {seeded.merchant.public_id} ({state}).")
        self.stdout.write(
            f"A new demo test key was minted this run (earlier ones still work): {seeded.secret}"
        )
        self.stdout.write(f"Try: curl -s {base_url}/v1/balance -H 'Authorization: Bearer {seeded.secret}'")

    def _history(self, merchant_id: str, days: int, per_day: int) -> None:
        started = time.monotonic()

        def on_day(day: date, counts: Counter) -> None:
            figures = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
            self.stdout.write(f"  {day.isoformat()}: {figures or 'nothing'}")

        result = demo_history_seed(
            merchant_id=merchant_id, days=days, payments_per_day=per_day, on_day=on_day
        )
        if not result.days:
            self.stdout.write(
                f"Demo history: already written through {result.already_through}; nothing to add."
            )
            return
        if not result.webhooks:
            self.stdout.write(
                "Demo history: no webhooks (their demo endpoints are on localhost: set "
                "PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS=true to include them)."
            )
        self.stdout.write(
            f"Demo history: {len(result.days)} days written ({result.days[0]} to {result.days[-1]}) "
            f"in {time.monotonic() - started:.1f} s."
        )
        for line in demo_history_summary(merchant_id=merchant_id):
            self.stdout.write(f"  {line}")
