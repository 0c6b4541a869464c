"""The API platform on its own: authentication, scope, the error shape, pagination, metadata."""

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.api.platform_app import OTHER_KEY, READ_KEY, SUSPENDED_KEY, WRITE_KEY, groups

pytestmark = pytest.mark.django_db


def call(method, path, key=WRITE_KEY, body=None, **headers):
    client = Client(raise_request_exception=False)
    if key:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    data = body if isinstance(body, str | bytes) else json.dumps(body) if body is not None else None
    kwargs = {"content_type": headers.pop("content_type", "application/json")} if data is not None else {}
    return (
        getattr(client, method)(path, data=data, **kwargs, **headers)
        if data is not None
        else getattr(client, method)(path, **headers)
    )


def assert_error(response, status, error_type, code=None, param=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response["Request-Id"].startswith("req_")
    error = response.json()["error"]
    assert set(error) >= {"type", "code", "message", "param", "request_id"}
    assert error["type"] == error_type
    assert error["request_id"] == response["Request-Id"]
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    return error


def test_missing_key_is_401_authentication_error(platform_api):
    response = call("get", "/v1/groups", key=None)
    assert_error(response, 401, "authentication_error", code="missing_api_key")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_key_is_401(platform_api):
    assert_error(call("get", "/v1/groups", key="sk_test_" + "x" * 40), 401, "authentication_error")


def test_malformed_authorization_header_is_401(platform_api):
    response = Client().get("/v1/groups", HTTP_AUTHORIZATION=f"Basic {WRITE_KEY}")
    assert_error(response, 401, "authentication_error")


def test_read_only_key_may_read_but_not_write(platform_api):
    assert call("get", "/v1/groups", key=READ_KEY).status_code == 200
    response = call("post", "/v1/groups", key=READ_KEY, body={"name": "x"})
    assert_error(response, 403, "permission_error", code="read_only_key")
    assert not groups().exists()


def test_suspended_merchant_gets_403_merchant_suspended(platform_api):
    assert_error(
        call("get", "/v1/groups", key=SUSPENDED_KEY), 403, "permission_error", code="merchant_suspended"
    )


def test_validation_error_names_the_param(platform_api):
    assert_error(
        call("post", "/v1/groups", body={}), 400, "invalid_request_error", "parameter_missing", "name"
    )


@pytest.mark.parametrize("amount", ["10", True, 10.5, 1e300, None])
def test_amount_must_be_a_json_integer(platform_api, amount):
    assert_error(
        call("post", "/v1/groups", body={"name": "n", "amount": amount}),
        400,
        "invalid_request_error",
        param="amount",
    )


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{i}": "v" for i in range(51)},
        {"k" * 41: "v"},
        {"k": "v" * 501},
        {"k": 1},
        {"k": None},
        ["not", "a", "dict"],
    ],
)
def test_metadata_out_of_bounds_is_400(platform_api, metadata):
    assert_error(
        call("post", "/v1/groups", body={"name": "n", "metadata": metadata}),
        400,
        "invalid_request_error",
        param="metadata",
    )


@pytest.mark.parametrize("literal", ["10.0", "1E1", "1e1", "10.000"])
def test_an_integer_written_with_a_fraction_or_exponent_is_400(platform_api, literal):
    assert_error(
        call("post", "/v1/groups", body=f'{{"name": "n", "amount": {literal}}}'),
        400,
        "invalid_request_error",
        param="amount",
    )


@pytest.mark.parametrize("name", [5, 1.5, True, ["n"], {"n": "n"}])
def test_a_plain_char_field_takes_only_a_json_string(platform_api, name):
    assert_error(call("post", "/v1/groups", body={"name": name}), 400, "invalid_request_error", param="name")


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ('{"name": "n", "metadata": {"k": ' + "[" * 1000 + "]" * 1000 + "}}", "invalid_json", None),
        ('{"name": "n\\udc00"}', "parameter_invalid", "name"),
        ('{"name": "n", "metadata": {"k": "\\ud800"}}', "parameter_invalid", "metadata[k]"),
    ],
)
def test_any_view_refuses_deep_json_and_lone_surrogates(platform_api, body, code, param):
    assert_error(call("post", "/v1/groups", body=body), 400, "invalid_request_error", code=code, param=param)


def test_metadata_at_the_bounds_is_accepted(platform_api):
    metadata = {f"{i:0>40}": "v" * 500 for i in range(50)}
    assert call("post", "/v1/groups", body={"name": "n", "metadata": metadata}).status_code == 201


def test_malformed_json_is_400_in_the_shape(platform_api):
    assert_error(
        call("post", "/v1/groups", body='{"name": '), 400, "invalid_request_error", code="invalid_json"
    )


def test_body_that_is_not_an_object_is_400(platform_api):
    assert_error(call("post", "/v1/groups", body="[1, 2]"), 400, "invalid_request_error")


def test_unsupported_media_type_is_415(platform_api):
    response = call("post", "/v1/groups", body="name=x", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "invalid_request_error", code="unsupported_media_type")


def test_method_not_allowed_is_405_in_the_shape(platform_api):
    assert_error(call("delete", "/v1/groups"), 405, "invalid_request_error", code="method_not_allowed")


def test_unknown_url_is_404_in_the_shape(platform_api):
    assert_error(call("get", "/v1/nothing-here"), 404, "invalid_request_error", code="resource_missing")


def test_unknown_url_is_404_in_the_shape_with_debug_pages_on(platform_api, settings):
    settings.DEBUG = True
    assert_error(call("get", "/v1/nothing-here"), 404, "invalid_request_error", code="resource_missing")


def test_crash_is_500_api_error_without_details(platform_api):
    error = assert_error(call("post", "/v1/groups", body={"name": "n", "fail": "crash"}), 500, "api_error")
    assert "boom" not in error["message"]


def test_domain_error_keeps_its_status_and_code(platform_api):
    assert_error(
        call("post", "/v1/groups", body={"name": "n", "fail": "conflict"}),
        409,
        "invalid_request_error",
        code="not_now",
    )


def test_list_is_newest_first_and_pages_by_starting_after(platform_api):
    names = [f"mer_a:g{i:02}" for i in range(25)]
    for name in names:
        Group.objects.create(name=name)
    Group.objects.create(name="mer_b:hidden")
    seen, cursor = [], None
    while True:
        path = "/v1/groups?limit=10" + (f"&starting_after={cursor}" if cursor else "")
        body = call("get", path).json()
        assert body["object"] == "list"
        seen += [row["name"] for row in body["data"]]
        if not body["has_more"]:
            break
        cursor = body["data"][-1]["name"]
    assert seen == list(reversed(names))


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
def test_limit_out_of_range_is_400(platform_api, limit):
    assert_error(call("get", f"/v1/groups?limit={limit}"), 400, "invalid_request_error", param="limit")


def test_starting_after_of_another_merchant_is_like_an_unknown_id(platform_api):
    Group.objects.create(name="mer_b:theirs")
    foreign = call("get", "/v1/groups?starting_after=mer_b:theirs").json()["error"]
    unknown = call("get", "/v1/groups?starting_after=mer_a:nope").json()["error"]
    assert (
        (foreign["code"], foreign["param"])
        == (unknown["code"], unknown["param"])
        == ("resource_missing", "starting_after")
    )


def test_other_merchant_sees_none_of_the_first_ones_objects(platform_api):
    call("post", "/v1/groups", body={"name": "mine"})
    assert call("get", "/v1/groups", key=OTHER_KEY).json()["data"] == []


def test_schema_and_docs_are_served(platform_api):
    assert Client().get("/v1/schema/").status_code == 200
    assert Client().get("/v1/docs/").status_code == 200


def test_body_above_the_upload_limit_is_413_in_the_shape(platform_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = {"name": "n", "metadata": {"k": "v" * 400, "l": "v" * 400, "m": "v" * 400}}
    assert_error(
        call("post", "/v1/groups", body=body, HTTP_IDEMPOTENCY_KEY="big"),
        413,
        "invalid_request_error",
        code="request_too_large",
    )
    assert_error(
        call("post", "/v1/groups", body=body), 413, "invalid_request_error", code="request_too_large"
    )
