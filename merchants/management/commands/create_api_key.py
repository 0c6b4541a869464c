"""manage.py create_api_key MERCHANT_ID [--read-only] [--live] [--json]"""

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from merchants.models import ApiKey
from merchants.services import api_key_create
from paysys.audit.context import ACTOR_SYSTEM, actor_scope
from paysys.errors import PaysysError


class Command(BaseCommand):
    help = "Create an API key for a merchant and print its secret (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("merchant_id", help="the merchant's id, mer_...")
        parser.add_argument("--read-only", action="store_true", help="a key that can only read")
        parser.add_argument("--live", action="store_true", help="a live-mode key (sk_live_...)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, merchant_id, read_only, live, json, **options):
        scope = ApiKey.Scope.READ if read_only else ApiKey.Scope.WRITE
        mode = ApiKey.Mode.LIVE if live else ApiKey.Mode.TEST
        try:
            with actor_scope(actor_type=ACTOR_SYSTEM, actor_id="create_api_key"):
                key, secret = api_key_create(merchant_id=merchant_id, scope=scope, mode=mode)
        except PaysysError as exc:
            raise CommandError(exc.message) from exc
        if json:
            self.stdout.write(
                jsonlib.dumps(
                    {
                        "merchant": merchant_id,
                        "api_key": secret,
                        "prefix": key.prefix,
                        "scope": scope,
                        "mode": mode,
                    }
                )
            )
        else:
            self.stdout.write(f"{scope} {mode} key for {merchant_id} (shown once): {secret}")
