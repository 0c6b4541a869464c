"""The merchant API on DRF's own machinery: generic views, a paginator and a filter backend that
state their schema, DRF's ``dispatch`` untouched, and the idempotency protocol on every POST."""

import pytest
from django.test import Client
from django.urls import get_resolver
from rest_framework.mixins import ListModelMixin
from rest_framework.views import APIView

from paysys.api.filters import PaysysFilterBackend
from paysys.api.views import PaysysApiView
from tests.api.helpers import funded_wallet
from tests.api.test_deny_by_default import PUBLIC_DRF_VIEWS, _drf_views
from tests.api.test_platform import assert_error

pytestmark = pytest.mark.django_db


def merchant_api_views():
    return [
        (route, view_class)
        for route, name, view_class, _initkwargs in _drf_views(get_resolver("paysys.urls"))
        if name not in PUBLIC_DRF_VIEWS
    ]


def test_every_merchant_api_view_is_a_paysys_generic_view_with_drfs_own_dispatch():
    views = merchant_api_views()
    assert len(views) > 20
    for route, view_class in views:
        assert issubclass(view_class, PaysysApiView), route
        assert view_class.dispatch is APIView.dispatch, route


def test_every_post_handler_runs_the_idempotency_protocol():
    posts = [
        (route, view_class.post) for route, view_class in merchant_api_views() if hasattr(view_class, "post")
    ]
    assert len(posts) > 10
    for route, handler in posts:
        assert getattr(handler, "idempotent", False), route


def test_a_subclass_post_is_wrapped_once_and_inherited_wrapped():
    class Parent(PaysysApiView):
        def post(self, request):
            raise NotImplementedError

    class Child(Parent):
        pass

    assert Parent.post.idempotent and Child.post is Parent.post
    assert Parent.post.__wrapped__.__name__ == "post"
    assert not hasattr(Parent.post.__wrapped__, "__wrapped__")


def test_list_parameters_in_the_schema_are_the_paginators_and_filter_backends():
    schema = Client().get("/v1/schema/", {"format": "json"}).json()
    lists = [
        (route, view_class)
        for route, view_class in merchant_api_views()
        if issubclass(view_class, ListModelMixin)
    ]
    assert len(lists) >= 10
    for route, view_class in lists:
        view = view_class()
        stated = view_class.pagination_class().get_schema_operation_parameters(view)
        stated += PaysysFilterBackend().get_schema_operation_parameters(view)
        path = "/" + route.replace("<str:", "{").replace(">", "}")
        # ``format`` is drf-spectacular's, for a view with a second renderer (settlement lines' CSV).
        served = [
            p
            for p in schema["paths"][path]["get"]["parameters"]
            if p["in"] == "query" and p["name"] != "format"
        ]
        assert sorted(served, key=lambda p: p["name"]) == sorted(stated, key=lambda p: p["name"]), route
        assert {"limit", "starting_after", "created[gte]", "created[lt]"} <= {p["name"] for p in served}


def test_a_list_view_without_a_filter_set_still_filters_by_created(api):
    wallet = funded_wallet(api)
    entries = f"/v1/accounts/{wallet['id']}/entries"
    assert len(api.get(f"{entries}?created[gte]=2000-01-01T00:00:00Z").json()["data"]) == 1
    assert api.get(f"{entries}?created[lt]=2000-01-01T00:00:00Z").json()["data"] == []
    assert_error(
        api.get(f"{entries}?created[gte]=yesterday"), 400, "invalid_request_error", param="created[gte]"
    )


def test_options_names_the_view_without_describing_the_answer_as_input(api):
    for path in ("/v1/payments", "/v1/webhook_endpoints/we_unknown/rotate_secret", "/v1/balance"):
        response = api.client.options(path, HTTP_AUTHORIZATION=f"Bearer {api.secret}")
        assert response.status_code == 200, (path, response.content)
        assert set(response.json()) == {"name", "description", "renders", "parses"}, path
