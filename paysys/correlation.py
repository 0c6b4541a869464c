"""Request and correlation ids.

Every HTTP request gets a ``req_`` id (returned in the ``Request-Id`` header) and a
correlation id (taken from an incoming ``X-Correlation-Id`` header or the request id).
The correlation id lives in a context variable, is stamped on every log line and audit row,
and travels into Celery tasks as a message header, so one merchant action can be followed
through the web process, the ledger and the workers.
"""

import contextvars
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "Request-Id"
CORRELATION_ID_HEADER = "X-Correlation-Id"
MAX_CORRELATION_ID_LENGTH = 64
# An incoming correlation id is a caller's opaque token; anything else (spaces, control
# characters, overlong) is ignored rather than copied into logs and audit rows.
_CORRELATION_ID_PATTERN = re.compile(rf"[A-Za-z0-9._:\-]{{1,{MAX_CORRELATION_ID_LENGTH}}}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def request_id_get() -> str | None:
    return _request_id.get()


def correlation_id_get() -> str | None:
    return _correlation_id.get()


def correlation_id_valid(value: str) -> bool:
    return bool(_CORRELATION_ID_PATTERN.fullmatch(value))


@contextmanager
def correlation_scope(correlation_id: str | None = None, request_id: str | None = None) -> Iterator[str]:
    """Run a block (a task, a command) under a correlation id, new unless given."""
    cid = (correlation_id or new_request_id().replace("req_", "cor_"))[:MAX_CORRELATION_ID_LENGTH]
    cid_token = _correlation_id.set(cid)
    rid_token = _request_id.set(request_id)
    try:
        yield cid
    finally:
        _correlation_id.reset(cid_token)
        _request_id.reset(rid_token)


class RequestIdMiddleware:
    """Give each request its ids and put ``Request-Id`` (and ``X-Correlation-Id``) on every
    response, errors included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        incoming = request.headers.get(CORRELATION_ID_HEADER, "").strip()
        if not correlation_id_valid(incoming):
            incoming = ""
        request.request_id = request_id
        with correlation_scope(incoming or request_id, request_id) as correlation_id:
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        response[CORRELATION_ID_HEADER] = correlation_id
        return response


class CorrelationLogFilter(logging.Filter):
    """Stamp request and correlation ids on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.correlation_id = _correlation_id.get()
        return True
