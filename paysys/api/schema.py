"""OpenAPI building blocks: the schema class, the error body, the common parameters and responses."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiFilterExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from paysys.api.fields import supported_currencies
from paysys.ids import ID_MAX_LENGTH
from paysys.money import currency_exponent, currency_from_api

AMOUNT_FIELD = "amount"
CURRENCY_FIELD = "currency"


def amount_maximums() -> dict[int, list[str]]:
    """{largest amount in minor units: the currencies it applies to}: the configured maximum
    (``PAYSYS_MAX_AMOUNT_MAJOR`` major units) in each currency's minor unit."""
    maximums: dict[int, list[str]] = {}
    for code in sorted(supported_currencies()):
        maximum = settings.PAYSYS_MAX_AMOUNT_MAJOR * 10 ** currency_exponent(currency_from_api(code))
        maximums.setdefault(maximum, []).append(code)
    return maximums


class PaysysAutoSchema(AutoSchema):
    """drf-spectacular's schema, stating in every request body what the API's edge enforces.

    - a ``CharField`` that may not be blank has ``minLength`` 1 (DRF refuses ``""``);
    - a path parameter (an object id) is at most ``ID_MAX_LENGTH`` characters;
    - every ``amount`` has the largest maximum of any currency; a body that also names the
      ``currency`` gets one ``if``/``then`` per smaller maximum, so each currency's own limit
      is in the schema, not only in the 400 ``amount_too_large``.

    Output schemas are left as the objects render (a description may be blank there). A page
    of ``XOutput`` objects is the component ``XList``.
    """

    def get_paginated_name(self, serializer_name: str) -> str:
        return f"{serializer_name.removesuffix('Output')}List"

    def _resolve_path_parameters(self, variables):
        # Every path parameter is an object id; a longer one is unknown, so a 404.
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("type") == "string":
                parameter["schema"]["maxLength"] = ID_MAX_LENGTH
        return parameters

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return schema
        properties = schema.get("properties", {})
        for field in force_instance(serializer).fields.values():
            _request_bounds(field, properties.get(field.field_name))
        amount = properties.get(AMOUNT_FIELD)
        if amount is not None and amount.get("type") == "integer":
            maximums = amount_maximums()
            amount["maximum"] = max(maximums)
            if CURRENCY_FIELD in properties:
                schema["allOf"] = [
                    {
                        "if": {
                            "properties": {CURRENCY_FIELD: {"enum": codes}},
                            "required": [CURRENCY_FIELD],
                        },
                        "then": {"properties": {AMOUNT_FIELD: {"maximum": maximum}}},
                    }
                    for maximum, codes in sorted(maximums.items())
                    if maximum < max(maximums)
                ]
        return schema


def _request_bounds(field: serializers.Field, schema: dict | None) -> None:
    if schema is None:
        return
    if isinstance(field, serializers.ListField):
        field, schema = field.child, schema.get("items")
        if schema is None:
            return
    if (
        isinstance(field, serializers.CharField)
        and not field.allow_blank
        and schema.get("type") == "string"
        and "enum" not in schema
    ):
        schema["minLength"] = max(schema.get("minLength", 0), 1)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "paysys.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A secret key: `sk_test_…` or `sk_live_…`.",
        }


class PaysysFilterBackendScheme(OpenApiFilterExtension):
    """The filter backend states its own parameters (DRF's ``get_schema_operation_parameters``);
    without this, drf-spectacular's django-filter extension would guess them from the model."""

    target_class = "paysys.api.filters.PaysysFilterBackend"
    priority = 1

    def get_schema_operation_parameters(
        self, auto_schema: AutoSchema, *args: object, **kwargs: object
    ) -> list:
        return self.target.get_schema_operation_parameters(auto_schema.view)


class ErrorDetailSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=[
            "invalid_request_error",
            "authentication_error",
            "permission_error",
            "card_error",
            "idempotency_error",
            "rate_limit_error",
            "api_error",
        ]
    )
    code = serializers.CharField()
    message = serializers.CharField()
    param = serializers.CharField(allow_null=True)
    request_id = serializers.CharField(allow_null=True)
    decline_code = serializers.CharField(required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERROR_DESCRIPTIONS = {
    400: "Invalid request (the error names the `param`).",
    401: "Missing, invalid or revoked API key.",
    402: "The card was declined.",
    403: "The key may not do this (read-only key, suspended merchant).",
    404: "No such object (or not this merchant's).",
    405: "Method not allowed.",
    406: "Not acceptable.",
    409: "Conflict: the object's state does not allow this, or the Idempotency-Key is in use.",
    413: "The request body is too large.",
    415: "Unsupported media type: send application/json.",
    422: "The Idempotency-Key was used with a different request.",
    429: "Rate limited; retry after `Retry-After` seconds.",
}

READ_ERRORS = (400, 401, 403, 404, 405, 406, 429)
WRITE_ERRORS = (400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {
        status: OpenApiResponse(ErrorSerializer, description=_ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


def responses(ok: dict[int, object], *, write: bool = False, extra: tuple[int, ...] = ()) -> dict:
    """A view's full response table: its successes plus every error it can return."""
    table: dict = dict(ok)
    table.update(error_responses(*sorted(set(WRITE_ERRORS if write else READ_ERRORS) | set(extra))))
    return table


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    # Printable ASCII without leading or trailing blanks (HTTP strips them).
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description="1-255 characters. Retrying with the same key and body replays the first response.",
)


def list_of(item: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The schema of ``{"object": "list", "data": [...], "has_more": bool}``."""
    return inline_serializer(
        name=name,
        fields={
            "object": serializers.CharField(help_text="Always `list`."),
            "data": item(many=True),
            "has_more": serializers.BooleanField(),
        },
    )
