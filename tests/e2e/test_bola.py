"""Tenancy on every route, on two axes: merchant B using merchant A's ids, and merchant A's live
key using A's test-mode ids, each get a 404 like an unknown id and change nothing; a route
missing from the matrix fails the meta-test."""

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.e2e.bola_matrix import CASES, FACTORIES, PUBLIC_ROUTES, Case

IGNORED_METHODS = {"options", "head", "trace"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _v1_patterns():
    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    return [(route, p) for route, p in walk(get_resolver().url_patterns, "") if route.startswith("v1/")]


def _methods(pattern: URLPattern) -> set[str]:
    view_class = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
    if view_class is None:
        return {"GET"}
    return {
        m.upper() for m in view_class.http_method_names if m not in IGNORED_METHODS and hasattr(view_class, m)
    }


def test_every_v1_route_and_method_is_in_the_bola_matrix():
    covered = {(case.route, case.method) for case in CASES}
    missing = [
        f"{method} /{route}"
        for route, pattern in _v1_patterns()
        if route not in PUBLIC_ROUTES
        for method in sorted(_methods(pattern))
        if (route, method) not in covered
    ]
    assert not missing, f"add these to tests/e2e/bola_matrix.py: {missing}"


def test_matrix_cases_name_real_routes():
    routes = {route for route, _ in _v1_patterns()}
    assert not [case.route for case in CASES if case.route not in routes]


def _fill(value, ids: dict[str, str]):
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: ids[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _call(client, case: Case, ids: dict[str, str]):
    body = _fill(case.body, ids) if case.body is not None else None
    return client.request(case.method, _fill(case.path, ids), json=body if case.method != "GET" else None)


def _unknown_ids(ids: dict[str, str]) -> dict[str, str]:
    # Same prefix and length, another random part: an id that exists nowhere.
    return {
        name: value.split("_", 1)[0] + "_" + "Z" * len(value.split("_", 1)[1]) for name, value in ids.items()
    }


def _snapshot(client, ids: dict[str, str]) -> dict:
    """What A sees of its world: every GET case, rendered."""
    views = {}
    for case in CASES:
        if case.method == "GET":
            response = _call(client, case, ids)
            views[_fill(case.path, ids)] = (response.status_code, response.json())
    return views


def _error_without_ids(body: dict, id_values: list[str]) -> dict:
    error = dict(body["error"])
    error.pop("request_id")
    message = error["message"]
    for value in id_values:
        message = message.replace(value, "<id>")
    error["message"] = message
    return error


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.django_db(transaction=True)
def test_other_merchant_and_other_mode_get_404_on_every_route_with_a_ids_and_change_nothing(tenants, http):
    a, b = tenants
    as_a = http(a.secret)
    ids: dict[str, str] = {}
    for name, factory in FACTORIES.items():
        ids[name] = factory(as_a, ids)
    unknown = _unknown_ids(ids)
    before = _snapshot(as_a, ids)

    # Merchant B (test mode, like A's objects), and merchant A itself with its live key.
    for axis, intruder in (("other merchant", http(b.secret)), ("other mode", http(a.live_secret))):
        for case in CASES:
            response = _call(intruder, case, ids)
            if case.targets:
                assert response.status_code == 404, (axis, case, response.text)
                twin = _call(intruder, case, unknown)
                assert twin.status_code == 404, (axis, case, twin.text)
                assert _error_without_ids(response.json(), list(ids.values())) == _error_without_ids(
                    twin.json(), list(unknown.values())
                ), (axis, case)
            else:
                assert response.status_code < 500, (axis, case, response.text)
                leaked = [value for value in ids.values() if value in response.text]
                assert not leaked, (axis, case, leaked)

    assert _snapshot(as_a, ids) == before

    for case in CASES:
        response = _call(as_a, case, ids)
        assert response.status_code == case.owner_status, (case, response.text)
        json.loads(response.content)
