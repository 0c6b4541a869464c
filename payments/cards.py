"""Card data: validation, brand, keyed fingerprint, and how the number stays out of storage.

The primary account number (PAN) and the CVC exist only in memory during the request that
carries them. ``CardData`` hides both from ``repr`` (so a traceback, a log line or a debug
page never shows them); validation errors name the parameter, never the value. What is kept
is what the API shows: brand, last4, expiry and a fingerprint, an HMAC-SHA256 of the PAN under
``settings.PAYSYS_CARD_FINGERPRINT_KEY`` (derived from ``SECRET_KEY`` when unset), so the same
card gives the same fingerprint for risk rules while the fingerprint cannot be reversed
without the key.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from paysys.errors import InvalidRequestError

PAN_MIN_LENGTH = 12
PAN_MAX_LENGTH = 19
FINGERPRINT_HEX_LENGTH = 32
# A fingerprint as ``card_fingerprint`` writes it: lower-case hex.
FINGERPRINT_PATTERN = re.compile(rf"[0-9a-f]{{{FINGERPRINT_HEX_LENGTH}}}")
MAX_EXPIRY_YEARS_AHEAD = 20
_FINGERPRINT_KEY_LABEL = b"paysys.card-fingerprint.v1"

# Issuer identification ranges: (brand, prefixes as (low, high) of the first digits).
_BRAND_RANGES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("amex", (("34", "34"), ("37", "37"))),
    ("diners", (("300", "305"), ("36", "36"), ("38", "39"))),
    ("jcb", (("3528", "3589"),)),
    ("discover", (("6011", "6011"), ("644", "649"), ("65", "65"))),
    ("unionpay", (("62", "62"),)),
    ("mastercard", (("51", "55"), ("2221", "2720"))),
    ("visa", (("4", "4"),)),
)


class CardValidationError(InvalidRequestError):
    default_code = "incorrect_number"


@dataclass(frozen=True)
class CardData:
    """A card as received: the number and CVC are held here only, never persisted."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False, default="")

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def brand(self) -> str:
        return brand_detect(self.number)

    @property
    def fingerprint(self) -> str:
        return card_fingerprint(self.number)


def luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_detect(number: str) -> str:
    for brand, ranges in _BRAND_RANGES:
        for low, high in ranges:
            prefix = number[: len(low)]
            if len(prefix) == len(low) and low <= prefix <= high:
                return brand
    return "unknown"


def _fingerprint_key() -> bytes:
    configured = getattr(settings, "PAYSYS_CARD_FINGERPRINT_KEY", "") or ""
    if configured:
        return configured.encode()
    return hmac.new(settings.SECRET_KEY.encode(), _FINGERPRINT_KEY_LABEL, hashlib.sha256).digest()


def card_fingerprint(number: str) -> str:
    digest = hmac.new(_fingerprint_key(), number.encode(), hashlib.sha256).hexdigest()
    return digest[:FINGERPRINT_HEX_LENGTH]


def _as_int(value: object, *, param: str, code: str) -> int:
    if isinstance(value, bool):
        raise CardValidationError("The card's expiry is invalid.", code=code, param=param)
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise CardValidationError("The card's expiry is invalid.", code=code, param=param) from None


def card_validate(
    *, number: object, exp_month: object, exp_year: object, cvc: object, now: datetime | None = None
) -> CardData:
    """Check a card as the API receives it; raise a 400 naming the parameter (never the value)."""
    now = now or datetime.now(tz=UTC)
    digits = "".join(str(number or "").split())
    if not (PAN_MIN_LENGTH <= len(digits) <= PAN_MAX_LENGTH) or not luhn_valid(digits):
        raise CardValidationError(
            "The card number is incorrect.", code="incorrect_number", param="card[number]"
        )
    month = _as_int(exp_month, param="card[exp_month]", code="invalid_expiry_month")
    if not 1 <= month <= 12:
        raise CardValidationError(
            "The card's expiration month is invalid.", code="invalid_expiry_month", param="card[exp_month]"
        )
    year = _as_int(exp_year, param="card[exp_year]", code="invalid_expiry_year")
    if year < 100:
        year += 2000
    if year < now.year or year > now.year + MAX_EXPIRY_YEARS_AHEAD:
        raise CardValidationError(
            "The card's expiration year is invalid.", code="invalid_expiry_year", param="card[exp_year]"
        )
    if year == now.year and month < now.month:
        raise CardValidationError(
            "The card's expiration month is invalid.", code="invalid_expiry_month", param="card[exp_month]"
        )
    cvc_text = str(cvc or "").strip()
    cvc_length = 4 if brand_detect(digits) == "amex" else 3
    if not (cvc_text.isdigit() and len(cvc_text) == cvc_length):
        raise CardValidationError(
            "The card's security code is invalid.", code="invalid_cvc", param="card[cvc]"
        )
    return CardData(number=digits, exp_month=month, exp_year=year, cvc=cvc_text)
