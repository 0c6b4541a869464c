"""The base of every merchant API view.

``PaysysApiView`` authenticates the Bearer key, checks the key's scope, applies the rate limit,
runs a POST carrying ``Idempotency-Key`` through ``paysys.idempotency`` (so the business
write and the stored response commit together), and renders every error in the one shape.
Views subclass it, parse input with a serializer, call one service or selector and render
with ``object_response`` / ``list_response``. Tenancy: views look objects up through selectors
that take ``self.caller.tenant`` (the key's merchant and mode, ``paysys.tenancy``); an object of
another merchant or of the other mode is a ``NotFoundError``.
"""

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import HttpResponseBase
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from paysys.api import schema  # noqa: F401  (registers the Bearer scheme with drf-spectacular)
from paysys.api.auth import ApiCaller, ApiKeyAuthentication, ApiKeyScopePermission
from paysys.api.fields import json_type_errors
from paysys.api.filters import ListFilterSet, filter_queryset
from paysys.api.pagination import Page, paginate
from paysys.errors import InvalidRequestError, NotFoundError
from paysys.idempotency.services import HEADER as IDEMPOTENCY_HEADER
from paysys.idempotency.services import idempotent_run

# Fields the API shows and only operators set (API.md: ``allow_negative`` is shown, never set):
# naming one in a request body is a 400 naming it (``parse``), not a silently ignored field.
OPERATOR_ONLY_PARAMS = ("allow_negative",)


class PaysysApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [ApiKeyScopePermission]

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

    def dispatch(self, request: object, *args: object, **kwargs: object) -> HttpResponseBase:
        # DRF's APIView.dispatch, with the handler run inside the idempotency protocol.
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            key = request.headers.get(IDEMPOTENCY_HEADER) if request.method == "POST" else None
            if key is None:
                return self._respond(request, *args, **kwargs)
            self.response = idempotent_run(
                merchant=self.caller.merchant_id,
                livemode=self.caller.livemode,
                key=key,
                method=request.method,
                path=request.path,
                body=request._request.body,
                execute=lambda: self._respond(request, *args, **kwargs),
            )
            return self.response
        except Exception as exc:
            return self._finish(request, self.handle_exception(exc), *args, **kwargs)

    def _respond(self, request: Request, *args: object, **kwargs: object) -> HttpResponseBase:
        try:
            method = request.method.lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            response = (handler or self.http_method_not_allowed)(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        return self._finish(request, response, *args, **kwargs)

    def _finish(self, request: Request, response: HttpResponseBase, *args: object, **kwargs: object):
        self.response = self.finalize_response(request, response, *args, **kwargs)
        # Rendered now: the idempotency store keeps the exact bytes the client receives.
        if hasattr(self.response, "render"):
            self.response.render()
        return self.response

    # --- helpers for subclasses -----------------------------------------------------------

    def serializer_context(self) -> dict:
        return {"request": self.request, "view": self}

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
        serializer = serializer_class(data=self.request.data, context=self.serializer_context())
        # JSON types first: DRF would turn 0 into "0" or False before any validator sees it.
        errors = json_type_errors(serializer, self.request.data)
        if errors:
            raise serializers.ValidationError(errors)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def object_response(
        self, obj: object, serializer_class: type[serializers.Serializer], *, status: int = 200
    ):
        return Response(serializer_class(obj, context=self.serializer_context()).data, status=status)

    def list_response(self, page: Page, serializer_class: type[serializers.Serializer]) -> Response:
        data = serializer_class(page.items, many=True, context=self.serializer_context()).data
        return Response({"object": "list", "data": data, "has_more": page.has_more})

    def paginated(
        self,
        queryset: QuerySet,
        serializer_class: type[serializers.Serializer],
        *,
        filterset_class: type[ListFilterSet] = ListFilterSet,
        id_field: str = "public_id",
        decode_id: Callable[[str], object] | None = None,
    ) -> Response:
        """Filter (``created[gte]``/``created[lt]`` and the resource's own), paginate and render."""
        filtered = filter_queryset(filterset_class, request=self.request, queryset=queryset)
        page = paginate(
            filtered, request=self.request, anchor_queryset=queryset, id_field=id_field, decode_id=decode_id
        )
        return self.list_response(page, serializer_class)
