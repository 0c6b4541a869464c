"""``manage.py expire_authorizations``: void every uncaptured authorization past its expiry."""

from django.core.management.base import BaseCommand

from payments.services import payments_expire_authorizations
from paysys.audit.context import ACTOR_SYSTEM, actor_scope
from paysys.correlation import correlation_scope


class Command(BaseCommand):
    help = "Void uncaptured payment authorizations older than PAYSYS_AUTHORIZATION_TTL_DAYS (7 days)."

    def handle(self, *args, **options):
        with correlation_scope(), actor_scope(actor_type=ACTOR_SYSTEM, actor_id="expire_authorizations"):
            expired = payments_expire_authorizations()
        self.stdout.write(f"expired {expired} authorization(s)")
