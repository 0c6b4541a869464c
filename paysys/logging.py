"""Request logging and the last line of defence against secrets in logs.

* ``AccessLogMiddleware`` writes one JSON line per request (``logger paysys.access``): method,
  path without its query string, status, duration. It names its fields one by one and never
  looks at headers, so the ``Authorization`` header (a merchant's secret key) cannot reach a
  log through it. It sits right after ``RequestIdMiddleware`` so the line carries the request
  and correlation ids.
* ``SecretRedactionFilter`` scrubs anything shaped like a secret key, a webhook secret or a
  bearer token from every record's message, arguments and extra fields, and replaces the
  ``request`` object Django attaches to ``django.request`` records by ``"METHOD /path"`` (its
  repr is harmless today; a future one need not be). Django logs those records after the
  middleware chain has returned, so the filter also takes the request id from the request
  when the context variable is already gone.
"""

import logging
import re
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from paysys.correlation import CORRELATION_ID_HEADER, MAX_CORRELATION_ID_LENGTH

ACCESS_LOGGER = "paysys.access"
REDACTED = "[redacted]"
SECRET_PATTERN = re.compile(
    r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9+/=_-]+|\bBearer\s+\S+"
)

access_logger = logging.getLogger(ACCESS_LOGGER)


def redact(text: str) -> str:
    return SECRET_PATTERN.sub(REDACTED, text)


# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class SecretRedactionFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Format first, then redact the whole text: a secret may be split between the
        # template and its arguments ("Bearer %s").
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            if not getattr(record, "request_id", None):
                record.request_id = getattr(request, "request_id", None)
            if not getattr(record, "correlation_id", None):
                incoming = request.headers.get(CORRELATION_ID_HEADER, "").strip()
                record.correlation_id = incoming[:MAX_CORRELATION_ID_LENGTH] or record.request_id
            record.request = f"{request.method} {request.path}"
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class AccessLogMiddleware:
    """One structured line per request; see the module docstring for what it never logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        access_logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response
