from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from paysys.errors import InvalidRequestError
from paysys.money import (
    currency_exponent,
    currency_from_api,
    currency_to_api,
    fee_compute,
    minor_to_money,
    money_to_minor,
    round_half_up,
    validate_minor_amount,
)

# One currency per exponent the project must hold exactly.
CURRENCIES_BY_EXPONENT = {"JPY": 0, "EUR": 2, "KWD": 3}
currencies = st.sampled_from(sorted(CURRENCIES_BY_EXPONENT))
minor_amounts = st.integers(min_value=-(10**15), max_value=10**15)


def test_currency_exponent_follows_iso_4217():
    assert currency_exponent("JPY") == 0
    assert currency_exponent("EUR") == 2
    assert currency_exponent("USD") == 2
    assert currency_exponent("KWD") == 3


@pytest.mark.parametrize("code", ["XXX", "XAU", "CLF", "ABC", "", "usd"])
def test_unsupported_currency_has_no_exponent(code):
    """Inside paysys a currency is upper-case: the API's ``usd`` is converted at the edge first."""
    with pytest.raises(InvalidRequestError) as exc:
        currency_exponent(code)
    assert exc.value.param == "currency"


def test_minor_units_map_to_major_units_per_currency():
    assert minor_to_money(1050, "EUR") == Money("10.50", "EUR")
    assert minor_to_money(1050, "JPY") == Money("1050", "JPY")
    assert minor_to_money(1050, "KWD") == Money("1.050", "KWD")


@settings(max_examples=200)
@given(amount=minor_amounts, currency=currencies)
def test_minor_to_money_round_trips_exactly(amount, currency):
    money = minor_to_money(amount, currency)
    assert money.currency.code == currency
    assert money_to_minor(money) == amount
    assert money.amount == Decimal(amount) / Decimal(10) ** CURRENCIES_BY_EXPONENT[currency]


@settings(max_examples=100)
@given(amount=minor_amounts, currency=currencies)
def test_money_finer_than_the_minor_unit_is_not_converted(amount, currency):
    exponent = CURRENCIES_BY_EXPONENT[currency]
    finer = Money(Decimal(amount).scaleb(-exponent) + Decimal(1).scaleb(-exponent - 1), currency)
    with pytest.raises(ValueError):
        money_to_minor(finer)


def test_minor_to_money_refuses_floats():
    with pytest.raises(TypeError):
        minor_to_money(10.5, "EUR")


@settings(max_examples=100)
@given(amount=st.integers(min_value=1, max_value=10**6), currency=currencies)
def test_valid_api_amounts_are_accepted(amount, currency):
    assert validate_minor_amount(amount, currency.lower()) == minor_to_money(amount, currency)


@pytest.mark.parametrize("amount", [True, 10.0, 10.5, "1050", None, Decimal("10")])
def test_non_integer_amount_is_rejected_naming_the_param(amount):
    with pytest.raises(InvalidRequestError) as exc:
        validate_minor_amount(amount, "eur", param="capture_amount")
    assert exc.value.param == "capture_amount"
    assert exc.value.code == "invalid_amount"


@pytest.mark.parametrize("amount", [0, -1, -(10**9)])
def test_zero_or_negative_amount_is_rejected(amount):
    with pytest.raises(InvalidRequestError) as exc:
        validate_minor_amount(amount, "eur")
    assert exc.value.param == "amount"


def test_zero_is_accepted_when_allowed():
    assert validate_minor_amount(0, "eur", allow_zero=True) == Money(0, "EUR")


@pytest.mark.parametrize("currency", ["EUR", "Eur", "xxx", "abc", "", 978, None])
def test_unknown_or_upper_case_currency_is_rejected(currency):
    with pytest.raises(InvalidRequestError) as exc:
        validate_minor_amount(100, currency)
    assert exc.value.param == "currency"
    with pytest.raises(InvalidRequestError) as exc:
        currency_from_api(currency)
    assert exc.value.param == "currency"


@pytest.mark.parametrize(("api", "inside"), [("eur", "EUR"), ("jpy", "JPY"), ("kwd", "KWD")])
def test_the_case_changes_at_the_edge_only(api, inside):
    assert currency_from_api(api) == inside
    assert currency_to_api(inside) == api


@settings(max_examples=50)
@given(currency=currencies, excess=st.integers(min_value=1, max_value=10**6))
def test_amount_above_the_configured_maximum_is_rejected(currency, excess):
    at_max = 1000 * 10 ** CURRENCIES_BY_EXPONENT[currency]
    with override_settings(PAYSYS_MAX_AMOUNT_MAJOR=1000):
        assert validate_minor_amount(at_max, currency.lower()) == minor_to_money(at_max, currency)
        with pytest.raises(InvalidRequestError) as exc:
            validate_minor_amount(at_max + excess, currency.lower())
    assert exc.value.code == "amount_too_large"
    assert exc.value.param == "amount"


def test_round_half_up_rounds_halves_away_from_zero():
    assert round_half_up(Decimal("0.005"), "EUR") == Decimal("0.01")
    assert round_half_up(Decimal("0.0049"), "EUR") == Decimal("0.00")
    assert round_half_up(Decimal("-0.005"), "EUR") == Decimal("-0.01")
    assert round_half_up(Decimal("2.5"), "JPY") == Decimal("3")
    assert round_half_up(Decimal("0.0005"), "KWD") == Decimal("0.001")


@settings(max_examples=200)
@given(
    currency=currencies,
    value=st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False),
)
def test_round_half_up_lands_on_the_minor_unit_within_half_a_unit(currency, value):
    exponent = CURRENCIES_BY_EXPONENT[currency]
    rounded = round_half_up(value, currency)
    unit = Decimal(1).scaleb(-exponent)
    assert rounded == rounded.quantize(unit)
    assert abs(rounded - value) <= unit / 2
    # A tie goes away from zero.
    if abs(rounded - value) == unit / 2:
        assert abs(rounded) > abs(value)


@settings(max_examples=200)
@given(
    currency=currencies,
    minor=st.integers(min_value=1, max_value=10**12),
    basis_points=st.integers(min_value=0, max_value=10_000),
    fixed_minor=st.integers(min_value=0, max_value=10**4),
)
def test_fee_is_the_exact_fee_rounded_half_up_once(currency, minor, basis_points, fixed_minor):
    amount = minor_to_money(minor, currency)
    fixed = minor_to_money(fixed_minor, currency)
    fee = fee_compute(amount, basis_points=basis_points, fixed=fixed)
    # Integer arithmetic in minor units: floor((2*minor*bp + 10,000) / 20,000) is half-up of minor*bp/10,000.
    expected_minor = (2 * minor * basis_points + 10_000) // 20_000 + fixed_minor
    assert money_to_minor(fee) == expected_minor
    assert fee.currency.code == currency


def test_fee_rounds_the_sum_not_each_part():
    # 0.5 % of EUR 1.01 is 0.00505 → 0.01 with the fixed part 0.00; rounded once.
    fee = fee_compute(Money("1.01", "EUR"), basis_points=50, fixed=Money("0.00", "EUR"))
    assert fee == Money("0.01", "EUR")
    assert fee_compute(Money("1000", "JPY"), basis_points=290, fixed=Money("30", "JPY")) == Money("59", "JPY")


def test_fee_in_another_currency_is_refused():
    with pytest.raises(ValueError):
        fee_compute(Money("10", "EUR"), basis_points=100, fixed=Money("1", "USD"))
