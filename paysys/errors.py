"""The one exception hierarchy of the domain.

Services raise these; the API's exception handler (``paysys.api.errors``) turns them into
the public error shape ``{"error": {"type", "code", "message", "param", "request_id"}}``.
A service never builds an HTTP response itself. Each class carries the HTTP status and
error ``type`` that API.md assigns to it; ``code`` is the machine-readable reason.
"""


class PaysysError(Exception):
    status_code = 400
    error_type = "invalid_request_error"
    default_code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None, **extra: object):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.param = param
        self.extra = extra


class InvalidRequestError(PaysysError):
    """Bad input: a 400 naming the offending ``param``."""


class NotFoundError(PaysysError):
    status_code = 404
    default_code = "resource_missing"


class ConflictError(PaysysError):
    """The object's state does not allow the action (409)."""

    status_code = 409
    default_code = "conflict"


class InsufficientFundsError(InvalidRequestError):
    default_code = "insufficient_funds"


class AccountFrozenError(ConflictError):
    default_code = "account_frozen"


class AccountClosedError(ConflictError):
    default_code = "account_closed"


class AuthenticationError(PaysysError):
    status_code = 401
    error_type = "authentication_error"
    default_code = "invalid_api_key"


class PermissionDeniedError(PaysysError):
    status_code = 403
    error_type = "permission_error"
    default_code = "permission_denied"


class CardError(PaysysError):
    status_code = 402
    error_type = "card_error"
    default_code = "card_declined"


class IdempotencyError(PaysysError):
    status_code = 422
    error_type = "idempotency_error"
    default_code = "idempotency_key_reused"


class RateLimitError(PaysysError):
    status_code = 429
    error_type = "rate_limit_error"
    default_code = "rate_limited"


class ServiceUnavailableError(PaysysError):
    """A dependency (the processor, a lock that could not be taken) failed: retry later."""

    status_code = 503
    error_type = "api_error"
    default_code = "service_unavailable"
