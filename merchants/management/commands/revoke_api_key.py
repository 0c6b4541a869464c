"""manage.py revoke_api_key PREFIX"""

from django.core.management.base import BaseCommand, CommandError

from merchants.services import api_key_revoke
from paysys.audit.context import ACTOR_SYSTEM, actor_scope
from paysys.errors import PaysysError


class Command(BaseCommand):
    help = (
        "Revoke an API key by its prefix (the first 16 characters, e.g. sk_test_AbCd1234); effective at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        try:
            with actor_scope(actor_type=ACTOR_SYSTEM, actor_id="revoke_api_key"):
                key = api_key_revoke(prefix=prefix)
        except PaysysError as exc:
            raise CommandError(exc.message) from exc
        when = key.revoked_at.isoformat()
        self.stdout.write(f"Revoked {key.prefix}... (merchant {key.merchant.public_id}) at {when}")
