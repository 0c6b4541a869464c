"""Money at the edge and inside: the one module converting between minor units and ``Money``.

At the API edge an amount is an integer in the currency's minor unit (``1050`` EUR is
EUR 10.50, ``1050`` JPY is JPY 1050, ``1050`` KWD is KWD 1.050) and the currency a
lower-case ISO 4217 code. Inside, amounts are py-moneyed ``Money`` with a ``Decimal`` amount,
and every currency, in code and in every table, is an upper-case code (``"EUR"``): the case
changes at the edge only, in ``currency_from_api`` and ``currency_to_api``. Amounts are stored
with 3 decimal places, which holds every supported currency exactly. Currencies whose minor
unit is finer than 3 decimals (CLF, UYW) and the non-monetary ``X..`` codes (gold, SDR, the
test code) are not supported.

Rounding is explicit: ``round_half_up`` to the currency's minor unit, used once where a value
is derived (fees), never implicitly. A float never enters: every function rejects one.
"""

import functools
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from babel.core import get_global
from babel.numbers import get_territory_currencies
from django.conf import settings
from moneyed import CURRENCIES, Money

from paysys.errors import InvalidRequestError

# The storage precision (MoneyField/DecimalField decimal_places): the finest supported unit.
MAX_EXPONENT = 3
BASIS_POINTS_PER_UNIT = 10_000
# ISO 4217 codes that are not money a merchant can be paid in (metals, SDR, testing, none).
NON_MONETARY_CODES = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XEU", "XFO", "XFU", "XPD", "XPT", "XRE", "XSU"}
    | {"XTS", "XUA", "XXX"}
)
_SUB_UNIT_EXPONENTS = {1: 0, 10: 1, 100: 2, 1000: 3}


@functools.cache
def _legal_tender_codes() -> frozenset[str]:
    """ISO 4217 codes that are legal tender somewhere today, from CLDR's territory data.

    That leaves out withdrawn currencies (ADP, DEM, HRK) and fund codes that are units of
    account rather than money (BOV, USN, CHE, UYI). Computed once per process.
    """
    today = datetime.now(UTC).date()
    return frozenset(
        code
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, start_date=today, tender=True)
    )


def _supported_exponent(code: str) -> int | None:
    currency = CURRENCIES.get(code)
    if currency is None or code in NON_MONETARY_CODES:
        return None
    return _SUB_UNIT_EXPONENTS.get(currency.sub_unit)


def currency_is_supported(currency: str) -> bool:
    """Whether an upper-case ISO 4217 code can be used for money in paysys."""
    return isinstance(currency, str) and _supported_exponent(currency) is not None


def currency_is_accepted(currency: str) -> bool:
    """Whether new money may be in ``currency``: supported and legal tender today.

    A currency withdrawn after money was taken in it stays supported, so its amounts still
    render, refund and settle; it is refused only where money is new (a new account, a payment,
    a transfer, a merchant's default currency).
    """
    return currency_is_supported(currency) and currency in _legal_tender_codes()


def currency_from_api(currency: object) -> str:
    """The one conversion in: a currency as the API and the command line write it (``"eur"``)
    to the code paysys holds (``"EUR"``). Anything but a supported lower-case ISO 4217 code is
    an ``InvalidRequestError`` naming ``currency``."""
    if (
        not isinstance(currency, str)
        or currency != currency.lower()
        or not currency_is_supported(currency.upper())
    ):
        raise InvalidRequestError(
            f"Invalid currency: {currency!r}. Use a supported lower-case ISO 4217 code such as 'eur'.",
            code="invalid_currency",
            param="currency",
        )
    return currency.upper()


def currency_to_api(currency: str) -> str:
    """The one conversion out: ``"EUR"`` as the API shows it, ``"eur"``."""
    return currency.lower()


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point in ``currency``'s minor unit: JPY 0, EUR 2, KWD 3."""
    exponent = _supported_exponent(currency) if isinstance(currency, str) else None
    if exponent is None:
        raise InvalidRequestError(
            f"Unsupported currency: {currency!r}.", code="invalid_currency", param="currency"
        )
    return exponent


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def minor_to_money(amount: int, currency: str) -> Money:
    """``minor_to_money(1050, "EUR") == Money("10.50", "EUR")``; exact for every supported currency."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"minor units must be an int, not {type(amount).__name__}")
    return Money(Decimal(amount).scaleb(-currency_exponent(currency)), currency)


def money_to_minor(money: Money) -> int:
    """``money_to_minor(Money("10.50", "EUR")) == 1050``; raises ``ValueError`` if not exact."""
    code = money.currency.code
    scaled = Decimal(money.amount).scaleb(currency_exponent(code))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{money!r} is not a whole number of {code} minor units")
    return int(scaled)


def validate_minor_amount(
    amount: object, currency: object, *, param: str = "amount", allow_zero: bool = False
) -> Money:
    """Check an API amount (integer minor units) and currency (lower-case ISO code).

    Raises ``InvalidRequestError`` naming ``param`` (or ``"currency"``) for a non-integer
    (bool, float, string, fraction), a zero (unless ``allow_zero``) or negative amount, an
    amount above ``settings.PAYSYS_MAX_AMOUNT_MAJOR`` major units, or a currency that is not a
    supported lower-case ISO 4217 code.
    """
    code = currency_from_api(currency)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidRequestError(
            f"Invalid {param}: must be an integer number of the currency's minor units.",
            code="invalid_amount",
            param=param,
        )
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidRequestError(
            f"Invalid {param}: must be {'zero or more' if allow_zero else 'greater than zero'}.",
            code="invalid_amount",
            param=param,
        )
    money = minor_to_money(amount, code)
    maximum = Decimal(settings.PAYSYS_MAX_AMOUNT_MAJOR)
    if money.amount > maximum:
        raise InvalidRequestError(
            f"Invalid {param}: must be at most {maximum} {money.currency.code} in major units.",
            code="amount_too_large",
            param=param,
        )
    return money


def round_half_up(value: Decimal, currency: str) -> Decimal:
    """Round ``value`` to ``currency``'s minor unit, halves away from zero."""
    if not isinstance(value, Decimal):
        raise TypeError(f"round_half_up takes a Decimal, not {type(value).__name__}")
    return value.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def fee_compute(amount: Money, *, basis_points: int, fixed: Money) -> Money:
    """The fee on ``amount``: ``amount * basis_points / 10,000 + fixed``, rounded half-up once.

    The percentage part is computed exactly and the sum rounded a single time, so a fee is
    never off by the double rounding of its two parts.
    """
    if fixed.currency != amount.currency:
        raise ValueError(f"fee currency {fixed.currency} differs from amount currency {amount.currency}")
    if isinstance(basis_points, bool) or not isinstance(basis_points, int) or basis_points < 0:
        raise ValueError("basis_points must be a non-negative int")
    code = amount.currency.code
    exact = Decimal(amount.amount) * basis_points / BASIS_POINTS_PER_UNIT + Decimal(fixed.amount)
    return Money(round_half_up(exact, code), code)


def money_display(amount: Money | Decimal | None, currency: str) -> str:
    """An amount as an operator reads it, in its currency's own precision: ``EUR 25.00``,
    ``JPY 1,500``, ``KWD 1.050``, ``EUR -3.10``. The one formatting of money for people (the
    admin's lists and pages); ``""`` for no amount. A code paysys does not support (an old row,
    an empty currency) shows the stored amount as it is rather than failing the page."""
    if amount is None:
        return ""
    if isinstance(amount, Money):
        amount = amount.amount
    if not currency_is_supported(currency):
        return f"{currency} {amount}".strip()
    return f"{currency} {Decimal(amount):,.{currency_exponent(currency)}f}"
