"""Money in the admin as an operator reads it: ``EUR 25.00``, ``JPY 1,500`` (``paysys.money``).

``money_column("amount")`` is a list or detail column showing a row's amount in its currency;
``MoneyDisplayMixin`` with ``money_fields = ("amount", "fee")`` shows those fields that way on
the admin's pages (and inlines) in place of the raw ``25.000``: each becomes ``<field>_money``.
"""

from collections.abc import Callable

from django.contrib import admin
from django.http import HttpRequest
from moneyed import Money

from paysys.money import money_display

CURRENCY_FIELD = "currency"


def money_column(field: str, *, currency_field: str = CURRENCY_FIELD, description: str = "") -> Callable:
    """A column showing ``obj.<field>`` (a Decimal beside ``obj.<currency_field>``, or a Money)."""

    def show(obj: object) -> str:
        value = getattr(obj, field)
        if isinstance(value, Money):
            return money_display(value.amount, value.currency.code)
        return money_display(value, getattr(obj, currency_field))

    show.__name__ = f"{field}_money"
    return admin.display(description=description or field.replace("_", " "), ordering=field)(show)


class MoneyDisplayMixin:
    money_fields: tuple[str, ...] = ()
    money_currency_field: str = CURRENCY_FIELD

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for field in cls.money_fields:
            setattr(
                cls,
                f"{field}_money",
                staticmethod(money_column(field, currency_field=cls.money_currency_field)),
            )

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple:
        shown = tuple(f"{field}_money" for field in self.money_fields)
        raw = super().get_readonly_fields(request, obj)
        return (*(self._money_name(f) for f in raw), *(f for f in shown if f not in raw))

    def get_fields(self, request: HttpRequest, obj: object = None) -> list:
        return list(dict.fromkeys(self._money_name(f) for f in super().get_fields(request, obj)))

    def _money_name(self, field: object) -> object:
        return f"{field}_money" if field in self.money_fields else field
