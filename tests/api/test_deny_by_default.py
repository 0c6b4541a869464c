"""Deny by default: a DRF view that names no authentication or permission needs an API key, and
every public endpoint is public on purpose."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from paysys.api.auth import ApiKeyAuthentication
from tests.api.platform_app import READ_KEY, WRITE_KEY
from tests.api.test_platform import assert_error, call

pytestmark = pytest.mark.django_db

# Route names of the DRF views anyone may call; each opts out on its own route or class.
PUBLIC_DRF_VIEWS = {"schema", "swagger-ui", "bench-noop"}


def test_a_bare_view_without_a_key_is_401_in_the_shape(platform_api):
    response = call("get", "/v1/bare", key=None)
    assert_error(response, 401, "authentication_error", code="missing_api_key")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_error(call("get", "/v1/bare", key="sk_test_" + "x" * 40), 401, "authentication_error")


def test_a_bare_view_answers_a_key_and_keeps_its_scope(platform_api):
    response = call("get", "/v1/bare")
    assert response.status_code == 200, response.content
    assert response.json() == {"object": "bare", "merchant": "mer_a"}
    assert call("post", "/v1/bare", key=WRITE_KEY, body={}).status_code == 200
    assert_error(
        call("post", "/v1/bare", key=READ_KEY, body={}), 403, "permission_error", code="read_only_key"
    )


def test_the_defaults_require_the_api_key():
    assert [ApiKeyAuthentication] == api_settings.DEFAULT_AUTHENTICATION_CLASSES
    assert IsAuthenticated in api_settings.DEFAULT_PERMISSION_CLASSES


def _drf_views(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _drf_views(pattern, route)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is not None and issubclass(view_class, APIView):
                yield route, pattern.name, view_class, getattr(pattern.callback, "initkwargs", {})


def test_every_drf_view_of_the_project_needs_a_key_unless_listed_public():
    seen_public, guarded = set(), []
    for route, name, view_class, initkwargs in _drf_views(get_resolver("paysys.urls")):
        authentication = initkwargs.get("authentication_classes", view_class.authentication_classes)
        permissions = initkwargs.get("permission_classes", view_class.permission_classes)
        if name in PUBLIC_DRF_VIEWS:
            seen_public.add(name)
            assert list(authentication) == [] and list(permissions) == [AllowAny], route
            continue
        assert ApiKeyAuthentication in authentication, route
        guarded.append(route)
    assert seen_public == PUBLIC_DRF_VIEWS
    assert len(guarded) > 10  # the merchant API's views were walked


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/v1/schema/", "/v1/docs/"])
def test_the_public_endpoints_answer_without_a_key(path):
    response = Client().get(path)
    assert response.status_code == 200, (path, response.content[:200])
