"""The columns payments' models share: amounts, lengths and public ids."""

from decimal import Decimal

from django.db import models

from paysys.ids import new_id

AMOUNT_MAX_DIGITS = 19
AMOUNT_DECIMAL_PLACES = 3
ZERO = Decimal("0.000")
STATUS_MAX_LENGTH = 32
CODE_MAX_LENGTH = 64
MESSAGE_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 1000
REFERENCE_MAX_LENGTH = 128


def amount_field(**kwargs) -> models.DecimalField:
    """An amount in major units, exact for every ISO 4217 currency (3 decimal places)."""
    return models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs)


def new_payment_method_id() -> str:
    return new_id("pm")


def new_payment_id() -> str:
    return new_id("pay")


def new_refund_id() -> str:
    return new_id("re")


def new_dispute_id() -> str:
    return new_id("dp")


def new_top_up_id() -> str:
    return new_id("tu")
