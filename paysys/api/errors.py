"""The one error shape, for every response that is an error.

``{"error": {"type", "code", "message", "param", "request_id"}}`` (plus ``decline_code`` and
other fields a ``PaysysError`` carries in ``extra``). Three layers produce it:

- ``exception_handler`` (DRF's ``EXCEPTION_HANDLER``): domain ``PaysysError``\\ s, DRF's own
  errors (validation, parse errors, 401/403/404/405/415, throttling) and any unexpected
  exception (a 500 ``api_error``, logged with its traceback);
- ``handler400/403/404/500`` in the root URLconf: Django's own error pages (unknown URL,
  ``DEBUG=False`` crashes);
- ``ErrorShapeMiddleware``: anything still leaving as an HTML error (Django's debug pages,
  a 405 from a plain Django view) is rewritten to the shape, so no client ever parses HTML.
"""

import logging
from collections.abc import Callable

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from paysys.correlation import request_id_get
from paysys.errors import PaysysError

logger = logging.getLogger("paysys.api")

ERROR_TYPES_BY_STATUS = {
    401: "authentication_error",
    402: "card_error",
    403: "permission_error",
    429: "rate_limit_error",
}
# Paths whose HTML error pages are left alone (the operators' admin has its own).
HTML_ERROR_PATH_PREFIXES = ("/admin/", "/static/")


def error_type_for(status: int) -> str:
    if status >= 500:
        return "api_error"
    return ERROR_TYPES_BY_STATUS.get(status, "invalid_request_error")


def error_body(
    *,
    status: int,
    code: str,
    message: str,
    param: str | None = None,
    error_type: str | None = None,
    **extra: object,
) -> dict:
    error = {
        "type": error_type or error_type_for(status),
        "code": code,
        "message": message,
        "param": param,
        "request_id": request_id_get(),
    }
    error.update({k: v for k, v in extra.items() if k not in error})
    return {"error": error}


def _first_validation_error(detail: object, path: str = "") -> tuple[str | None, str, str]:
    """The first (param, message, code) in a DRF validation tree; params as ``card[number]``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key)
            nested = f"{path}[{name}]" if path else name
            sub = path if name == "non_field_errors" else nested
            return _first_validation_error(value, sub)
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                return _first_validation_error(value, f"{path}[{index}]")
            return _first_validation_error(value, path)
    code = getattr(detail, "code", None) or "invalid"
    return (path or None), str(detail), code


VALIDATION_CODES = {"required": "parameter_missing", "null": "parameter_missing"}

_DRF_CODES: list[tuple[type[drf.APIException], int, str]] = [
    (drf.ParseError, 400, "invalid_json"),
    (drf.NotAuthenticated, 401, "missing_api_key"),
    (drf.AuthenticationFailed, 401, "invalid_api_key"),
    (drf.PermissionDenied, 403, "permission_denied"),
    (drf.NotFound, 404, "resource_missing"),
    (drf.MethodNotAllowed, 405, "method_not_allowed"),
    (drf.NotAcceptable, 406, "not_acceptable"),
    (drf.UnsupportedMediaType, 415, "unsupported_media_type"),
    (drf.Throttled, 429, "rate_limited"),
]


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every exception becomes the error shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, PaysysError):
        status = exc.status_code
        body = error_body(
            status=status,
            error_type=exc.error_type,
            code=exc.code,
            message=exc.message,
            param=exc.param,
            **exc.extra,
        )
        retry_after = exc.extra.get("retry_after")
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="paysys"'
        return Response(body, status=status, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        message = "The request body is too large."
        return Response(error_body(status=413, code="request_too_large", message=message), status=413)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if isinstance(exc, drf.ValidationError):
        param, message, code = _first_validation_error(exc.detail)
        message = f"Invalid {param}: {message}" if param else message
        body = error_body(
            status=400, code=VALIDATION_CODES.get(code, "parameter_invalid"), message=message, param=param
        )
        return Response(body, status=400)
    if isinstance(exc, drf.APIException):
        status, code = exc.status_code, exc.default_code
        for cls, cls_status, cls_code in _DRF_CODES:
            if isinstance(exc, cls):
                status, code = cls_status, cls_code
                break
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="paysys"'
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response(
            error_body(status=status, code=code, message=str(detail)), status=status, headers=headers
        )
    logger.exception("unhandled error in API view", exc_info=exc)
    return Response(
        error_body(
            status=500, code="internal_error", message="An internal error occurred; it has been logged."
        ),
        status=500,
    )


# --- Django's own error views (named in the root URLconf) -----------------------------


def _json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(status=status, code=code, message=message), status=status)


def django_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(400, "bad_request", "The request could not be understood.")


def django_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(403, "permission_denied", "You do not have permission to do this.")


def django_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(
        404, "resource_missing", f"Unrecognized request URL ({request.method}: {request.path})."
    )


def django_500(request: HttpRequest) -> JsonResponse:
    return _json_error(500, "internal_error", "An internal error occurred; it has been logged.")


_DJANGO_STATUS_CODES = {
    400: "bad_request",
    403: "permission_denied",
    404: "resource_missing",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


class ErrorShapeMiddleware:
    """Rewrite any non-JSON error response (Django debug pages, plain views) to the shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or request.path.startswith(HTML_ERROR_PATH_PREFIXES):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        if status >= 500:
            code, message = "internal_error", "An internal error occurred; it has been logged."
        elif status == 404:
            code, message = (
                "resource_missing",
                f"Unrecognized request URL ({request.method}: {request.path}).",
            )
        else:
            code = _DJANGO_STATUS_CODES.get(status, "invalid_request")
            message = f"The request failed with HTTP status {status}."
        shaped = JsonResponse(error_body(status=status, code=code, message=message), status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                shaped[header] = response[header]
        return shaped
