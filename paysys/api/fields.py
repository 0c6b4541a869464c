"""Serializer fields and the base of every API object's serializer.

Every object renders ``id`` (prefixed), ``object`` (its type name), ``created`` (ISO 8601 UTC)
and ``livemode``; ``metadata`` where it makes sense (bounded by ``validate_metadata``). Amounts
leave as integers in minor units through ``paysys.money``.
"""

import functools

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from moneyed import CURRENCIES, Money
from rest_framework import serializers

from paysys.money import currency_is_supported, money_to_minor
from paysys.tenancy import livemode_of

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX_LENGTH = 40
METADATA_VALUE_MAX_LENGTH = 500


def validate_metadata(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise serializers.ValidationError("Metadata must be an object of string keys and string values.")
    if len(value) > METADATA_MAX_KEYS:
        raise serializers.ValidationError(f"Metadata can have at most {METADATA_MAX_KEYS} keys.")
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= METADATA_KEY_MAX_LENGTH:
            raise serializers.ValidationError(
                f"Metadata keys must be 1-{METADATA_KEY_MAX_LENGTH} characters."
            )
        if "\x00" in key or (isinstance(item, str) and "\x00" in item):
            raise serializers.ValidationError("Metadata cannot contain NUL characters.")
        if not isinstance(item, str) or len(item) > METADATA_VALUE_MAX_LENGTH:
            raise serializers.ValidationError(
                f"Metadata values must be strings of at most {METADATA_VALUE_MAX_LENGTH} characters ('{key}')."
            )
    return value


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": METADATA_VALUE_MAX_LENGTH},
        "maxProperties": METADATA_MAX_KEYS,
        "propertyNames": {"minLength": 1, "maxLength": METADATA_KEY_MAX_LENGTH},
        "description": f"Up to {METADATA_MAX_KEYS} string keys of 1-{METADATA_KEY_MAX_LENGTH} characters.",
    }
)
class MetadataField(serializers.Field):
    """Up to 50 string keys (≤ 40 chars) with string values (≤ 500 chars)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", dict)
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> dict[str, str]:
        return validate_metadata(data)

    def to_representation(self, value: object) -> dict:
        return dict(value or {})


@extend_schema_field(OpenApiTypes.INT)
class MinorAmountField(serializers.Field):
    """A ``Money`` rendered as an integer of minor units (``Money("10.50", "EUR")`` → 1050)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Money) -> int:
        return money_to_minor(value)


# Integers up to 2**53 are exact in a JSON number with a fraction part of zero.
MAX_EXACT_FLOAT_INTEGER = 2**53


class StrictIntegerField(serializers.IntegerField):
    """An integer that is a JSON integer: no ``"10"``, no ``10.5``, no ``true``.

    ``10.0`` is accepted as 10: JSON Schema (and OpenAPI 3.1) count it as an integer, and it is
    turned into an exact ``int`` here, before any money is made of it.
    """

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, float) and data.is_integer() and abs(data) <= MAX_EXACT_FLOAT_INTEGER:
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``: no ``0``, ``1``, ``"true"`` (DRF's default accepts those)."""

    def to_internal_value(self, data: object) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@functools.cache
def supported_currencies() -> frozenset[str]:
    """Every currency paysys takes, as the API spells them (lower-case ISO 4217). Computed once."""
    return frozenset(code.lower() for code in CURRENCIES if currency_is_supported(code))


@extend_schema_field({"type": "string", "enum": sorted(supported_currencies())})
class CurrencyField(serializers.CharField):
    """A supported lower-case ISO 4217 code (``eur``); the schema lists them all.

    A set lookup rather than a ``ChoiceField``: that one builds three dictionaries of every
    currency each time a serializer is instantiated, which is once per request.
    """

    default_error_messages = {
        "invalid_choice": "{input!r} is not a supported lower-case ISO 4217 currency code."
    }

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str) or data not in supported_currencies():
            self.fail("invalid_choice", input=data)
        return data


class ObjectSerializer(serializers.Serializer):
    """Base of API objects: ``id`` (from ``public_id``), ``object``, ``created``, ``livemode``.

    Subclasses set ``object_name``; ``livemode`` is the object's stored mode (``paysys.tenancy``),
    never the calling key's.
    """

    object_name = ""

    id = serializers.CharField(source="public_id", read_only=True)
    object = serializers.SerializerMethodField()
    created = serializers.DateTimeField(read_only=True)
    livemode = serializers.SerializerMethodField()

    def get_object(self, obj: object) -> str:
        return self.object_name

    def get_livemode(self, obj: object) -> bool:
        return livemode_of(obj)
