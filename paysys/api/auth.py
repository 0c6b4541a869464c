"""Bearer API-key authentication and the write-scope permission.

``Authorization: Bearer sk_test_…`` is resolved by the function named in
``settings.PAYSYS_API_KEY_AUTHENTICATOR`` (the merchants app provides it; the platform may not
import domain apps). It returns an ``ApiCaller`` or raises a ``PaysysError``
(``AuthenticationError`` → 401, ``PermissionDeniedError`` → 403). The key is checked against
the database on every request, so a revocation takes effect on the very next request.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from paysys.audit.context import ACTOR_API, actor_set
from paysys.client_ip import client_ip
from paysys.errors import AuthenticationError, PermissionDeniedError
from paysys.tenancy import Tenant

AUTH_SCHEME = "Bearer"


@dataclass(frozen=True)
class ApiCaller:
    """Who is calling: the key's merchant and what the key may do. ``request.user`` in views."""

    merchant_pk: int
    merchant_id: str  # public id, ``mer_…``
    api_key_pk: int
    key_prefix: str
    can_write: bool
    livemode: bool
    merchant: object = None  # the domain's merchant object, for services that take one

    @property
    def tenant(self) -> Tenant:
        """What this key may see: its merchant's objects of its mode (``sk_live_`` → live)."""
        return Tenant(merchant_pk=self.merchant_pk, merchant_id=self.merchant_id, livemode=self.livemode)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False


@lru_cache(maxsize=4)
def _resolver(path: str) -> Callable[..., ApiCaller]:
    return import_string(path)


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiCaller, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            raise AuthenticationError(
                "No API key provided. Send 'Authorization: Bearer sk_test_…'.", code="missing_api_key"
            )
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != AUTH_SCHEME.lower() or not secret:
            raise AuthenticationError("Malformed Authorization header: use 'Bearer <secret key>'.")
        caller = _resolver(settings.PAYSYS_API_KEY_AUTHENTICATOR)(secret=secret)
        # Every service call of this request is audited as this key (reset by the audit middleware).
        actor_set(
            actor_type=ACTOR_API,
            actor_id=caller.key_prefix,
            ip=client_ip(request) or None,
            idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY") if request.method == "POST" else None,
        )
        return caller, caller.key_prefix

    def authenticate_header(self, request: Request) -> str:
        return f'{AUTH_SCHEME} realm="paysys"'


class ApiKeyScopePermission(BasePermission):
    """Read-only keys may only read."""

    def has_permission(self, request: Request, view: object) -> bool:
        if request.method in SAFE_METHODS:
            return True
        caller = request.user
        if not getattr(caller, "can_write", False):
            raise PermissionDeniedError(
                "This API key is read-only; a write needs a key with the write scope.", code="read_only_key"
            )
        return True
