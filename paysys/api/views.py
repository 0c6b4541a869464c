"""The base of every merchant API view.

``PaysysApiView`` is a ``GenericAPIView``: the settings give it the Bearer key's authentication,
the key's scope, the rate limit, ``StartingAfterPagination`` and ``PaysysFilterBackend``, and
every error leaves in the one shape. Views subclass it together with DRF's generics where they
fit (``ListAPIView``, ``RetrieveAPIView``: ``get_queryset`` / ``get_object`` call a selector),
render with ``serializer_class`` and parse input with ``parse`` (a serializer). Tenancy: views
look objects up through selectors that take ``self.caller.tenant`` (the key's merchant and
mode, ``paysys.tenancy``); an object of another merchant or of the other mode is a
``NotFoundError``.

Idempotency: every ``post`` handler of a subclass is wrapped (``idempotent``, applied by
``__init_subclass__``, so a new view cannot forget it): a POST carrying ``Idempotency-Key`` runs
its handler inside ``paysys.idempotency.services.idempotent_run``, which stores the rendered
response with the business write. DRF's own ``dispatch`` runs unchanged around it.
"""

import functools
from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponseBase
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request

from paysys.api import schema  # noqa: F401  (registers the Bearer scheme with drf-spectacular)
from paysys.api.auth import ApiCaller
from paysys.api.fields import json_type_errors
from paysys.errors import InvalidRequestError, NotFoundError
from paysys.idempotency.services import HEADER as IDEMPOTENCY_HEADER
from paysys.idempotency.services import idempotent_run

# Fields the API shows and only operators set (API.md: ``allow_negative`` is shown, never set):
# naming one in a request body is a 400 naming it (``parse``), not a silently ignored field.
OPERATOR_ONLY_PARAMS = ("allow_negative",)

Handler = Callable[..., HttpResponseBase]


def idempotent(handler: Handler) -> Handler:
    """Run a POST handler at most once per ``Idempotency-Key`` (``paysys.idempotency``).

    Without the header the handler runs as usual. With it, the handler runs inside
    ``idempotent_run``, and its response — an error included — is finalized and rendered there,
    so the stored bytes are the bytes the client receives (and a replay sends them again).
    What ``idempotent_run`` itself refuses (a malformed key, another request's key in flight, a
    different body) raises to DRF's ``dispatch`` and is answered unstored.
    """

    @functools.wraps(handler)
    def post(self: "PaysysApiView", request: Request, *args: object, **kwargs: object) -> HttpResponseBase:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return handler(self, request, *args, **kwargs)
        return idempotent_run(
            merchant=self.caller.merchant_id,
            livemode=self.caller.livemode,
            key=key,
            method=request.method,
            path=request.path,
            body=request._request.body,
            execute=lambda: self.rendered(handler, request, *args, **kwargs),
        )

    post.idempotent = True
    return post


class ViewMetadata(SimpleMetadata):
    """``OPTIONS``: the view's name, renderers and parsers, without DRF's ``actions``.

    A generic view's ``actions`` describe its ``serializer_class``, which here renders the
    answer; what a POST accepts is its own input serializer (``parse``). The OpenAPI schema
    states both.
    """

    def determine_actions(self, request: Request, view: object) -> dict:
        return {}


class PaysysApiView(GenericAPIView):
    metadata_class = ViewMetadata

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        post = getattr(cls, "post", None)
        if post is not None and not getattr(post, "idempotent", False):
            cls.post = idempotent(post)

    @property
    def caller(self) -> ApiCaller:
        return self.request.user

    def perform_authentication(self, request: Request) -> None:
        request.user  # noqa: B018  (authenticates, raising the 401/403)
        # DRF mirrors the caller onto the Django request, where simple-history and other Django
        # code expect a ``User``; API changes are attributed in the audit log instead.
        request._request.user = AnonymousUser()

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        # PostgreSQL text cannot hold NUL, so no stored id has one: answer before querying.
        for value in kwargs.values():
            if isinstance(value, str) and "\x00" in value:
                raise NotFoundError(f"No such object: {value!r}.")

    def rendered(
        self, handler: Handler, request: Request, *args: object, **kwargs: object
    ) -> HttpResponseBase:
        """The handler's response as ``dispatch`` sends it: errors handled, finalized, rendered.

        ``dispatch`` finalizes it once more on the way out, which changes no byte: the content
        is rendered already and the headers it sets are the same.
        """
        try:
            response = handler(self, request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        response = self.finalize_response(request, response, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()
        return response

    def parse(self, serializer_class: type[serializers.Serializer]) -> dict:
        """Validate the JSON body; a problem is a 400 naming the parameter."""
        if not isinstance(self.request.data, dict):
            raise serializers.ValidationError("The request body must be a JSON object.")
        for param in OPERATOR_ONLY_PARAMS:
            if param in self.request.data:
                raise InvalidRequestError(
                    f"{param} is an operator's decision and cannot be set through the API.",
                    code="parameter_not_settable",
                    param=param,
                )
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        # JSON types first: DRF would turn 0 into "0" or False before any validator sees it.
        errors = json_type_errors(serializer, self.request.data)
        if errors:
            raise serializers.ValidationError(errors)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
