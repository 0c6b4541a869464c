"""The client's IP address, as seen through the reverse proxies in front of the web process.

Each trusted proxy appends the address it received the connection from to ``X-Forwarded-For``
(nginx's ``$proxy_add_x_forwarded_for``, a cloud load balancer's default). With
``PAYSYS_TRUSTED_PROXIES = n``, the chain is the header's entries followed by ``REMOTE_ADDR``
(the last proxy); the client is the entry ``n`` places from its right end. Entries left of it
were written by the client and are never trusted. With 0 (the default: nothing in front),
``REMOTE_ADDR`` is the client and the header is ignored.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address, or ``""`` when the proxies' header is missing, short or malformed."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.PAYSYS_TRUSTED_PROXIES
    if not proxies:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    chain = [part for part in forwarded if part] + [remote]
    if len(chain) <= proxies:
        return ""  # fewer hops than proxies: the request did not come through them
    candidate = chain[-1 - proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return ""
