"""The columns payments' models share: amounts, lengths and public ids."""

from decimal import Decimal

from django.db import models
from djmoney.models.fields import MoneyField, MoneyFieldProxy

from paysys.ids import new_id

AMOUNT_MAX_DIGITS = 19
AMOUNT_DECIMAL_PLACES = 3
# The row's one currency column, shared by all its amounts (declared before them).
CURRENCY_FIELD = "currency"
ZERO = Decimal("0.000")
STATUS_MAX_LENGTH = 32
CODE_MAX_LENGTH = 64
MESSAGE_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 1000
REFERENCE_MAX_LENGTH = 128


def amount_field(**kwargs) -> models.DecimalField:
    """An amount in major units, exact for every ISO 4217 currency (3 decimal places)."""
    return models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs)


class RowCurrencyMoney(MoneyFieldProxy):
    """django-money's attribute, refusing a ``Money`` in another currency than the row's.

    django-money would rewrite the shared ``currency`` column instead, turning every amount of
    the row into the new currency; a row without a currency yet takes the amount's.
    """

    def set_currency(self, obj, value) -> None:
        current = obj.__dict__.get(self.currency_field_name)
        if current and current != value:
            raise ValueError(
                f"{type(obj).__name__}.{self.field.name} takes {current}, not {value}: "
                "the amounts of a row share its currency"
            )
        super().set_currency(obj, value)


class AmountField(MoneyField):
    """A ``MoneyField`` in the row's ``currency`` column: NUMERIC(19, 3), read as ``Money``.

    Its default is a bare amount (``ZERO``): a default ``Money`` would carry a currency of its
    own and overwrite the row's when the row is built.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", AMOUNT_MAX_DIGITS)
        kwargs.setdefault("decimal_places", AMOUNT_DECIMAL_PLACES)
        kwargs.setdefault("currency_field_name", CURRENCY_FIELD)
        kwargs.setdefault("currency_max_length", 3)
        # Any code: paysys.money decides which currencies are money.
        kwargs.setdefault("currency_choices", ())
        super().__init__(*args, money_descriptor_class=RowCurrencyMoney, **kwargs)

    def setup_default(self, default, default_currency, nullable):
        return default

    @property
    def _has_default(self) -> bool:
        # django-money reads its default as a ``Money`` for the form; ours is in the row's currency.
        return False


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
