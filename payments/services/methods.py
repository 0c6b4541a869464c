"""Payment methods: a card tokenized at the processor; only brand, last4, expiry, the keyed
fingerprint and the processor's token are kept."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from merchants.models import Merchant
from payments.cards import CardData, card_validate
from payments.models import PaymentMethod
from payments.modes import card_mode_check
from payments.processor import processor_get
from paysys.audit.services import audit_record


def payment_method_insert(*, merchant: Merchant, card: CardData, livemode: bool) -> PaymentMethod:
    token = processor_get(livemode=livemode).tokenize(card=card)
    with transaction.atomic(savepoint=False):
        pm = PaymentMethod.objects.create(
            merchant=merchant,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=card.fingerprint,
            processor_token=token,
            livemode=livemode,
        )
        audit_record(
            event_type="payment_method.created",
            object_type="payment_method",
            object_id=pm.public_id,
            merchant_id=merchant.public_id,
            metadata={"brand": pm.brand, "last4": pm.last4},
        )
    return pm


def payment_method_create(
    *, merchant: Merchant, card: Mapping[str, Any], livemode: bool = False
) -> PaymentMethod:
    """Tokenize a card: validated in memory, only brand/last4/expiry/fingerprint/token are kept."""
    data = card_validate(
        number=card.get("number"),
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
        cvc=card.get("cvc"),
    )
    card_mode_check(livemode=livemode, card=data)
    with transaction.atomic():
        return payment_method_insert(merchant=merchant, card=data, livemode=livemode)
