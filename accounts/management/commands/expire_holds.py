"""``manage.py expire_holds``: release every hold past its expiry (the beat task does it too)."""

from django.core.management.base import BaseCommand

from accounts.services import holds_expire
from paysys.audit.context import actor_scope


class Command(BaseCommand):
    help = "Release the funds of every hold past its expiry."

    def handle(self, *args, **options):
        with actor_scope(actor_type="system", actor_id="expire_holds"):
            count = holds_expire()
        self.stdout.write(f"{count} holds expired")
