from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.cards import brand_detect, card_fingerprint, card_validate, luhn_valid
from payments.processor.simulator import TEST_CARDS
from paysys.errors import InvalidRequestError

NOW = datetime(2026, 6, 15, tzinfo=UTC)


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("no check digit")


@pytest.mark.parametrize("number", sorted(TEST_CARDS))
def test_every_test_card_passes_luhn(number):
    assert luhn_valid(number)


@settings(max_examples=50)
@given(st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_exactly_one_check_digit_completes_a_number(body):
    completions = [d for d in "0123456789" if luhn_valid(body + d)]
    assert len(completions) == 1


@settings(max_examples=50)
@given(st.text(alphabet="0123456789", min_size=11, max_size=18), st.integers(0, 17), st.integers(1, 9))
def test_a_single_changed_digit_breaks_luhn(body, position, delta):
    number = _luhn_complete(body)
    position %= len(number)
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    assert not luhn_valid(changed)


def test_number_failing_luhn_is_incorrect_number_without_echoing_it():
    with pytest.raises(InvalidRequestError) as info:
        card_validate(number="4242424242424241", exp_month=12, exp_year=2030, cvc="123", now=NOW)
    assert info.value.code == "incorrect_number"
    assert info.value.param == "card[number]"
    assert "4242" not in info.value.message


@pytest.mark.parametrize(
    ("month", "year", "code"),
    [
        (13, 2030, "invalid_expiry_month"),
        (0, 2030, "invalid_expiry_month"),
        ("x", 2030, "invalid_expiry_month"),
        (5, 2026, "invalid_expiry_month"),  # earlier this year: expired
        (12, 2025, "invalid_expiry_year"),
        (12, 2070, "invalid_expiry_year"),
    ],
)
def test_bad_expiry_is_rejected_with_its_code(month, year, code):
    with pytest.raises(InvalidRequestError) as info:
        card_validate(number="4242424242424242", exp_month=month, exp_year=year, cvc="123", now=NOW)
    assert info.value.code == code


def test_current_month_is_still_valid():
    card = card_validate(number="4242424242424242", exp_month=6, exp_year=26, cvc="123", now=NOW)
    assert (card.exp_month, card.exp_year) == (6, 2026)


@pytest.mark.parametrize("cvc", ["", "12", "1234", "abc"])
def test_bad_cvc_is_invalid_cvc(cvc):
    with pytest.raises(InvalidRequestError) as info:
        card_validate(number="4242424242424242", exp_month=12, exp_year=2030, cvc=cvc, now=NOW)
    assert info.value.code == "invalid_cvc"


def test_amex_takes_a_four_digit_cvc():
    card = card_validate(number="378282246310005", exp_month=12, exp_year=2030, cvc="1234", now=NOW)
    assert card.brand == "amex"


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3566002020360505", "jcb"),
        ("36227206271667", "diners"),
        ("6200000000000005", "unionpay"),
        ("9999999999999995", "unknown"),
    ],
)
def test_brand_is_detected_from_the_number(number, brand):
    assert brand_detect(number) == brand


def test_card_repr_hides_number_and_cvc():
    card = card_validate(number="4242424242424242", exp_month=12, exp_year=2030, cvc="987", now=NOW)
    assert "4242424242424242" not in repr(card)
    assert "987" not in repr(card)
    assert card.last4 == "4242"


def test_fingerprint_is_stable_keyed_and_not_the_number(settings):
    first = card_fingerprint("4242424242424242")
    assert first == card_fingerprint("4242424242424242")
    assert first != card_fingerprint("5555555555554444")
    assert "4242" not in first
    settings.PAYSYS_CARD_FINGERPRINT_KEY = "another-key"
    assert card_fingerprint("4242424242424242") != first
