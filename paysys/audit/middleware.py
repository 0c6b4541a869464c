"""Attribute each request's audit rows to its actor.

``AuditActorMiddleware`` (after Django's ``AuthenticationMiddleware``) opens an actor scope per
request: the client IP (masked) and the ``Idempotency-Key`` header become the defaults of every
actor in the request, and an authenticated staff user (the admin) is the ``operator`` actor, by
user primary key. API requests are attributed by the API-key authentication, which calls
``paysys.audit.context.actor_set`` once it knows the key; the scope ends with the request.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from paysys.audit.context import ACTOR_OPERATOR, actor_request_scope, actor_set
from paysys.client_ip import client_ip

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255


class AuditActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER, "")[:IDEMPOTENCY_KEY_MAX_LENGTH]
        with actor_request_scope(ip=client_ip(request) or None, idempotency_key=key):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.is_staff:
                actor_set(actor_type=ACTOR_OPERATOR, actor_id=str(user.pk))
            return self.get_response(request)
