"""The SSRF guard of webhook URLs.

A merchant chooses the URL paysys will POST to, so a URL must never reach into the platform's
own network: loopback, private (RFC 1918, ULA), carrier-grade NAT, link-local, multicast,
unspecified, reserved or documentation ranges, and the cloud metadata addresses are refused.

The check runs twice: when the endpoint is created or its URL changed (a 400 naming
``param: "url"``), and again on every delivery. At delivery the host is resolved **once**,
every address of the answer is checked (one bad address refuses the whole name), and the
connection goes to the checked IP itself, with the name kept in the ``Host`` header and as
the TLS SNI / certificate name. A DNS answer that changes between check and connect (DNS
rebinding) therefore cannot smuggle a private address in.

``settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS`` (default False) lets development and tests
reach a receiver on localhost or a private network; metadata, multicast and unspecified
addresses stay refused even then. Production refuses to start with it (``paysys/settings.py``)
and this guard ignores it there too, should a setting be changed at run time.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from paysys.errors import InvalidRequestError

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
URL_MAX_LENGTH = 2048
URL_PARAM = "url"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services (AWS, GCP, Azure, OpenStack; AWS over IPv6; Alibaba Cloud).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# NAT64 embeds an IPv4 address in its low 32 bits: judge the embedded address.
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class WebhookUrlError(InvalidRequestError):
    """A webhook URL that paysys refuses to call."""

    default_code = "url_invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, param=URL_PARAM)


class WebhookUrlBlockedError(WebhookUrlError):
    default_code = "url_not_allowed"


@dataclass(frozen=True)
class ResolvedUrl:
    """A URL whose host has been resolved and checked; connect to ``ip``, present ``host``."""

    url: str
    scheme: str
    host: str
    port: int
    ip: IPAddress


def _allow_private() -> bool:
    if getattr(settings, "PAYSYS_ENV", "development") == "production":
        return False
    return bool(getattr(settings, "PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS", False))


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64_PREFIX:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_blocked(ip: IPAddress, *, allow_private: bool = False) -> bool:
    """True when paysys must not connect to ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    embedded = _embedded_ipv4(ip)
    if embedded is not None and address_is_blocked(embedded, allow_private=allow_private):
        return True
    if ip in METADATA_ADDRESSES or ip.is_multicast or ip.is_unspecified:
        return True
    if ip.is_global and not ip.is_reserved:
        return False
    # Loopback, private, link-local, shared (100.64/10), reserved, documentation ranges.
    return not allow_private


def url_parse(url: str) -> tuple[str, str, int]:
    """Check a URL's shape; return (scheme, host, port) or raise ``WebhookUrlError``."""
    if not isinstance(url, str) or not url:
        raise WebhookUrlError("A webhook URL is required.")
    if len(url) > URL_MAX_LENGTH:
        raise WebhookUrlError(f"The URL is longer than {URL_MAX_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError("The URL is not valid.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise WebhookUrlError("The URL must use http or https.", code="url_scheme_not_allowed")
    host = parts.hostname
    if not host:
        raise WebhookUrlError("The URL has no host.")
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookUrlError(f"The URL's host {host!r} does not resolve.", code="url_unresolvable") from exc
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise WebhookUrlError(f"The URL's host {host!r} does not resolve.", code="url_unresolvable")
    return addresses


def url_resolve(url: str) -> ResolvedUrl:
    """Resolve ``url``'s host once and check every address; return the address to connect to.

    Raises ``WebhookUrlBlockedError`` when any address is refused (a name that answers with
    one public and one private address could be steered to the private one).
    """
    scheme, host, port = url_parse(url)
    allow_private = _allow_private()
    addresses = _resolve(host, port)
    for ip in addresses:
        if address_is_blocked(ip, allow_private=allow_private):
            raise WebhookUrlBlockedError(
                "The URL resolves to a loopback, private, link-local, multicast, reserved or "
                f"metadata address ({ip}); webhooks can only be sent to public addresses."
            )
    return ResolvedUrl(url=url, scheme=scheme, host=host, port=port, ip=addresses[0])


def url_validate(url: str) -> str:
    """The check at creation or update: the URL as given, or a 400 naming ``url``."""
    url_resolve(url)
    return url
