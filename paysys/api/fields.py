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
from rest_framework.fields import get_attribute

from paysys.money import currency_is_accepted, currency_to_api, money_to_minor
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
    """An amount as an integer of the currency's minor units (10.50 EUR → 1050): a ``Money``
    (django-money's ``MoneyField``), or a decimal of the object's currency.

    ``currency`` names the object's attribute holding a decimal's currency code (dotted for a
    related object's), read from the object the field's ``source`` starts at.
    """

    def __init__(self, *, currency: str = "currency", **kwargs: object) -> None:
        self.currency_attrs = currency.split(".")
        super().__init__(**kwargs)

    def get_attribute(self, instance: object) -> Money:
        amount = super().get_attribute(instance)
        if isinstance(amount, Money):
            return amount
        return Money(amount, get_attribute(instance, self.currency_attrs))

    def to_representation(self, value: Money) -> int:
        return money_to_minor(value)


class LowerCaseCurrencyField(serializers.CharField):
    """A stored (upper-case) currency code as the API spells it: ``EUR`` → ``eur``."""

    def to_representation(self, value: str) -> str:
        return currency_to_api(value)


class BlankAsNullCharField(serializers.CharField):
    """A text column that stores "nothing" as ``""``, shown as ``null``."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None


class ObjectNameField(serializers.ChoiceField):
    """The object's type name (``"payment"``): the same for every object a serializer renders,
    a one-value enum in the schema."""

    def __init__(self, name: str, **kwargs: object) -> None:
        self.object_name = name
        super().__init__(choices=[name], source="*", **kwargs)

    def to_representation(self, value: object) -> str:
        return self.object_name


class _FixedValue:
    """The same value for every object rendered (``source="*"``: no attribute is read)."""

    def __init__(self, value: object, **kwargs: object) -> None:
        self.fixed_value = value
        super().__init__(source="*", **kwargs)

    def to_representation(self, instance: object) -> object:
        return self.fixed_value


class FixedCharField(_FixedValue, serializers.CharField):
    """A string the same for every object, a plain string in the schema (``ObjectNameField``
    declares its one value as an enum)."""


class FixedBooleanField(_FixedValue, serializers.BooleanField):
    """A boolean the same for every object (a deletion's ``deleted: true``)."""


def json_type_error(field: serializers.Field, value: object) -> object:
    """What is wrong with ``value``'s JSON type for ``field`` (DRF's error-detail shape), or None.

    DRF coerces: a ``CharField`` takes ``0`` as ``"0"``, a ``BooleanField`` takes ``0``, ``1``
    and ``"true"``, an ``IntegerField`` takes ``"10"`` and ``10.0``. The API takes what its
    schema says and nothing else: a string is a JSON string, a boolean ``true`` or ``false``, an
    integer a JSON integer (``10.0`` and ``1E1`` are JSON Schema integers, but a number written
    with a fraction or an exponent was computed in floating point somewhere, and an amount is
    never a float). Nested serializers and list items are checked the same way; ``null`` is left
    to DRF's own ``allow_null``.
    """
    if value is None:
        return None
    if isinstance(field, serializers.Serializer):
        return json_type_errors(field, value) if isinstance(value, dict) else None
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return None
        errors = {
            index: error for index, item in enumerate(value) if (error := json_type_error(field.child, item))
        }
        return errors or None
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        return ["Not a valid string."]
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return ["Must be a JSON boolean: true or false."]
    if isinstance(field, serializers.IntegerField) and (
        isinstance(value, bool) or not isinstance(value, int)
    ):
        return ["Must be a JSON integer, written without a fraction or an exponent."]
    return None


def json_type_errors(serializer: serializers.Serializer, data: dict) -> dict:
    """``json_type_error`` for every writable field of ``serializer`` present in ``data``."""
    errors = {}
    for name, field in serializer.fields.items():
        if not field.read_only and field.source != "*" and name in data:
            error = json_type_error(field, data[name])
            if error:
                errors[name] = error
    return errors


class StrictIntegerField(serializers.IntegerField):
    """An integer written as a JSON integer (``json_type_error``), wherever the serializer is used."""

    def to_internal_value(self, data: object) -> int:
        if json_type_error(self, data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false`` (``json_type_error``), wherever the serializer is used."""

    def to_internal_value(self, data: object) -> bool:
        if json_type_error(self, data):
            self.fail("invalid", input=data)
        return data


@functools.cache
def supported_currencies() -> frozenset[str]:
    """Every currency paysys takes, as the API spells them (lower-case ISO 4217). Computed once."""
    return frozenset(currency_to_api(code) for code in CURRENCIES if currency_is_accepted(code))


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
