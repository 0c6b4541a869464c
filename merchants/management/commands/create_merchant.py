"""manage.py create_merchant --name NAME --email EMAIL [--currency eur] [--platform MERCHANT_ID] [--json]"""

import json

from django.core.management.base import BaseCommand, CommandError

from merchants.services import api_key_create, merchant_activate, merchant_onboard
from paysys.audit.context import ACTOR_SYSTEM, actor_scope
from paysys.errors import PaysysError
from paysys.money import currency_from_api


class Command(BaseCommand):
    help = "Create and activate a merchant; print its id and a new test secret key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--currency", default="eur", help="default currency, lower-case ISO 4217")
        parser.add_argument(
            "--platform",
            metavar="MERCHANT_ID",
            help="connect the new merchant to this platform merchant (its payments may split funds to it)",
        )
        parser.add_argument(
            "--json", action="store_true", help='print {"id": "mer_...", "api_key": "sk_test_..."}'
        )

    def handle(self, *args, name, email, currency, platform=None, json: bool = False, **options):
        try:
            with actor_scope(actor_type=ACTOR_SYSTEM, actor_id="create_merchant"):
                merchant = merchant_onboard(
                    name=name, email=email, default_currency=currency_from_api(currency), platform_id=platform
                )
                merchant_activate(merchant_id=merchant.public_id)
                _key, secret = api_key_create(merchant_id=merchant.public_id)
        except PaysysError as exc:
            raise CommandError(exc.message) from exc
        if json:
            self.stdout.write(_json({"id": merchant.public_id, "api_key": secret}))
        else:
            connected = f", connected to {platform}" if platform else ""
            self.stdout.write(f"Merchant {merchant.public_id} ({merchant.name}) is active{connected}.")
            self.stdout.write(f"Test secret key (shown once, keep it safe): {secret}")


def _json(value: dict) -> str:
    return json.dumps(value)
