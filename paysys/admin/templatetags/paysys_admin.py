from decimal import Decimal

from django import template

from paysys.money import money_display

register = template.Library()


@register.simple_tag
def money(amount: Decimal | None, currency: str) -> str:
    """``{% money payment.amount payment.currency %}``: ``EUR 25.00`` (``paysys.money.money_display``)."""
    return money_display(amount, currency)
