"""manage.py seed_demo: a demo merchant and an admin superuser, idempotently."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from merchants.services import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME, demo_seed
from paysys.audit.context import ACTOR_SYSTEM, actor_scope


class Command(BaseCommand):
    help = "Create (once) a demo merchant and an admin user; print the admin URL, credentials and a fresh API key."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates well-known credentials; it does not run in production.")
        with actor_scope(actor_type=ACTOR_SYSTEM, actor_id="seed_demo"):
            seeded = demo_seed()
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
