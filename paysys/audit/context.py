"""Who is acting: the actor every audit row is attributed to unless the caller says otherwise.

The actor lives in a context variable, like the correlation id:

- API requests: the API-key authentication calls ``actor_set(actor_type="api", ...)`` once it
  knows the key (DRF authenticates inside the view, where no ``with`` block can wrap the rest
  of the request); ``AuditActorMiddleware`` resets it when the request ends.
- Admin requests: ``AuditActorMiddleware`` sets an ``operator`` actor (the user's primary key)
  for authenticated staff.
- Celery tasks: ``paysys.celery`` carries the actor of whoever queued the task in the message
  headers and restores it around the run (``system`` when nobody queued it, e.g. beat).
- Commands and scripts: ``with actor_scope(actor_type="system", actor_id="verify_ledger"): ...``.

With no actor set, ``actor_get()`` returns the ``system`` actor. ``actor_id`` is an identifier
safe to store: the API key's public id or prefix (never its secret), the operator's user pk, a
task or command name.
"""

import contextvars
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

ACTOR_API = "api"
ACTOR_OPERATOR = "operator"
ACTOR_SYSTEM = "system"
ACTOR_TYPES = (ACTOR_API, ACTOR_OPERATOR, ACTOR_SYSTEM)

# Masking keeps the network, drops the host: the last IPv4 octet, the last 80 IPv6 bits.
IPV4_KEPT_PREFIX = 24
IPV6_KEPT_PREFIX = 48


@dataclass(frozen=True)
class Actor:
    actor_type: str
    actor_id: str | None = None
    ip: str | None = None  # already masked
    idempotency_key: str | None = None
    # Why the actor acts, in their words (an operator's confirmed admin action): every audit row
    # written in the scope carries it in its metadata.
    reason: str | None = None


SYSTEM_ACTOR = Actor(actor_type=ACTOR_SYSTEM)

_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)
# What the current request tells about every actor in it: the client IP (masked) and the
# Idempotency-Key header. Set by AuditActorMiddleware; actors made without them inherit them.
_request_defaults: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "audit_request_defaults", default=None
)


def ip_mask(ip: str | None) -> str | None:
    """The IP with its host part zeroed (``203.0.113.77`` -> ``203.0.113.0``); None if invalid."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_KEPT_PREFIX if address.version == 4 else IPV6_KEPT_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def _actor_make(
    *,
    actor_type: str,
    actor_id: str | None,
    ip: str | None,
    idempotency_key: str | None,
    reason: str | None = None,
) -> Actor:
    if actor_type not in ACTOR_TYPES:
        raise ValueError(f"actor_type must be one of {ACTOR_TYPES}, not {actor_type!r}")
    defaults = _request_defaults.get() or SYSTEM_ACTOR
    return Actor(
        actor_type=actor_type,
        actor_id=actor_id or None,
        ip=ip_mask(ip) if ip else defaults.ip,
        idempotency_key=idempotency_key or defaults.idempotency_key,
        reason=reason or None,
    )


@contextmanager
def actor_scope(
    *,
    actor_type: str,
    actor_id: str | None,
    ip: str | None = None,
    idempotency_key: str | None = None,
    reason: str | None = None,
) -> Iterator[Actor]:
    """Run a block as this actor (acting for ``reason``, if given); the previous actor comes back
    afterwards."""
    actor = _actor_make(
        actor_type=actor_type, actor_id=actor_id, ip=ip, idempotency_key=idempotency_key, reason=reason
    )
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def actor_set(
    *, actor_type: str, actor_id: str | None, ip: str | None = None, idempotency_key: str | None = None
) -> Actor:
    """Set the actor for the rest of the current request (reset by ``AuditActorMiddleware``).

    For adapters that learn the actor where no ``with`` block can wrap the remaining work
    (DRF authentication). Everywhere else use ``actor_scope``.
    """
    actor = _actor_make(actor_type=actor_type, actor_id=actor_id, ip=ip, idempotency_key=idempotency_key)
    _actor.set(actor)
    return actor


def actor_get() -> Actor:
    """The current actor; ``system`` when none is set (with the request's IP and key, if any)."""
    return _actor.get() or _request_defaults.get() or SYSTEM_ACTOR


def actor_is_set() -> bool:
    return _actor.get() is not None


@contextmanager
def actor_request_scope(*, ip: str | None = None, idempotency_key: str | None = None) -> Iterator[None]:
    """Isolate one request's actor: whatever is set inside is undone on exit. ``ip`` and
    ``idempotency_key`` become the defaults of every actor set during the request."""
    defaults = Actor(actor_type=ACTOR_SYSTEM, ip=ip_mask(ip), idempotency_key=idempotency_key or None)
    defaults_token = _request_defaults.set(defaults)
    token = _actor.set(None)
    try:
        yield
    finally:
        _actor.reset(token)
        _request_defaults.reset(defaults_token)
