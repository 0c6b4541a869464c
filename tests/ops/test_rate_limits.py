"""Per-key rate limits against the real Redis of the test run (``REDIS_URL``)."""

import logging
import threading
import uuid

import pytest
from django.conf import settings as django_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.authentication import BaseAuthentication
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from paysys.api import throttling
from paysys.api.auth import ApiCaller
from paysys.api.throttling import READ, WRITE, rate_limit_check
from paysys.metrics import RATE_LIMIT_BACKEND_ERRORS, RATE_LIMITED

WINDOW_START = 1_700_000_000_000  # a window boundary (multiple of 1000 ms)


@pytest.fixture(autouse=True)
def _fresh_breaker(settings):
    assert django_settings.REDIS_URL, "these tests need REDIS_URL (make test sets it)"
    settings.PAYSYS_RATE_LIMIT_ENABLED = True  # off by default under PAYSYS_ENV=test
    throttling.breaker.reset()
    yield
    throttling.breaker.reset()


@pytest.fixture
def identity() -> str:
    return uuid.uuid4().hex


class _KeyFromHeader(BaseAuthentication):
    """Stands in for the merchants' key lookup: the header names the API key's pk."""

    def authenticate(self, request):
        key_pk = int(request.META["HTTP_X_TEST_KEY"])
        caller = ApiCaller(
            merchant_pk=1,
            merchant_id="mer_test",
            api_key_pk=key_pk,
            key_prefix="sk_test_x",
            can_write=True,
            livemode=False,
        )
        return caller, None


class _EchoApi(APIView):
    authentication_classes = [_KeyFromHeader]
    permission_classes = []

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True}, status=201)


def _call(method: str, key_pk: int):
    factory = APIRequestFactory()
    request = getattr(factory, method)("/v1/echo", HTTP_X_TEST_KEY=str(key_pk))
    return _EchoApi.as_view()(request)


def _fresh_key_pk() -> int:
    return uuid.uuid4().int % 10**12


def test_requests_within_the_budget_are_admitted_and_the_next_is_refused(identity):
    decisions = [
        rate_limit_check(identity=identity, budget=WRITE, limit=5, now_ms=WINDOW_START + 100)
        for _ in range(6)
    ]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]


def test_refused_request_is_told_when_the_window_admits_again(identity):
    for _ in range(10):
        rate_limit_check(identity=identity, budget=WRITE, limit=10, now_ms=WINDOW_START + 500)
    refused = rate_limit_check(identity=identity, budget=WRITE, limit=10, now_ms=WINDOW_START + 500)
    # 500 ms to the roll-over, then 10 * (1000 - t) / 1000 + 1 <= 10 needs t >= 100 ms.
    assert not refused.allowed
    assert refused.retry_after_seconds == pytest.approx(0.6)
    assert not rate_limit_check(identity=identity, budget=WRITE, limit=10, now_ms=WINDOW_START + 1099).allowed
    assert rate_limit_check(identity=identity, budget=WRITE, limit=10, now_ms=WINDOW_START + 1100).allowed


def test_previous_window_counts_by_the_share_still_inside_the_sliding_window(identity):
    for _ in range(10):
        assert rate_limit_check(identity=identity, budget=READ, limit=10, now_ms=WINDOW_START).allowed
    # Half-way through the next window the previous ten weigh five: five more fit, not ten.
    halfway = WINDOW_START + 1500
    admitted = sum(
        rate_limit_check(identity=identity, budget=READ, limit=10, now_ms=halfway).allowed for _ in range(10)
    )
    assert admitted == 5


@pytest.mark.timeout(30)
def test_concurrent_requests_never_pass_the_limit(identity):
    limit, threads, attempts = 37, 16, 10
    admitted = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def hammer():
        barrier.wait()
        mine = sum(
            rate_limit_check(identity=identity, budget=WRITE, limit=limit, now_ms=WINDOW_START + 10).allowed
            for _ in range(attempts)
        )
        with lock:
            admitted.append(mine)

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(admitted) == limit


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=50),
    elapsed=st.integers(min_value=0, max_value=999),
    current=st.integers(min_value=0, max_value=60),
    previous=st.integers(min_value=0, max_value=60),
)
def test_retry_after_is_the_first_moment_the_sliding_window_admits(limit, elapsed, current, previous):
    window = 1000

    def admits(t_ms: float) -> bool:
        if elapsed + t_ms < window:
            estimate = previous * (window - elapsed - t_ms) / window + current
        else:
            into_next = elapsed + t_ms - window
            estimate = current * max(window - into_next, 0) / window
        return estimate + 1 <= limit + 1e-9

    if admits(0):
        return  # not refused now: nothing to wait for
    wait_ms = (
        throttling._seconds_until_admitted(
            limit=limit, window_ms=window, elapsed_ms=elapsed, current=current, previous=previous
        )
        * 1000
    )
    assert admits(wait_ms)
    assert not admits(max(wait_ms - 1, 0)) or wait_ms < 1


def test_throttled_api_call_is_a_429_rate_limit_error_with_retry_after(settings):
    settings.PAYSYS_RATE_LIMIT_WRITE_PER_SECOND = 3
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "EXCEPTION_HANDLER": "paysys.api.errors.exception_handler",
    }
    key_pk = _fresh_key_pk()
    before = RATE_LIMITED.labels(budget=WRITE)._value.get()
    statuses = [_call("post", key_pk).status_code for _ in range(3)]
    refused = _call("post", key_pk)
    refused.render()
    assert statuses == [201, 201, 201]
    assert refused.status_code == 429
    assert refused["Retry-After"].isdigit() and int(refused["Retry-After"]) >= 1
    error = refused.data["error"]
    assert error["type"] == "rate_limit_error"
    assert error["code"] == "rate_limited"
    assert RATE_LIMITED.labels(budget=WRITE)._value.get() == before + 1


def test_reads_and_writes_have_separate_budgets(settings):
    settings.PAYSYS_RATE_LIMIT_WRITE_PER_SECOND = 2
    settings.PAYSYS_RATE_LIMIT_READ_PER_SECOND = 50
    key_pk = _fresh_key_pk()
    writes = [_call("post", key_pk).status_code for _ in range(3)]
    reads = [_call("get", key_pk).status_code for _ in range(5)]
    assert writes[:2] == [201, 201] and writes[2] == 429
    assert reads == [200] * 5


def test_each_api_key_has_its_own_budget(settings):
    settings.PAYSYS_RATE_LIMIT_READ_PER_SECOND = 2
    first, second = _fresh_key_pk(), _fresh_key_pk()
    assert [_call("get", first).status_code for _ in range(3)][-1] == 429
    assert [_call("get", second).status_code for _ in range(2)] == [200, 200]


def test_a_zero_budget_or_disabled_limits_mean_no_limit(settings, identity):
    assert all(rate_limit_check(identity=identity, budget=READ, limit=0).allowed for _ in range(20))
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    settings.PAYSYS_RATE_LIMIT_READ_PER_SECOND = 1
    key_pk = _fresh_key_pk()
    assert [_call("get", key_pk).status_code for _ in range(5)] == [200] * 5


@pytest.mark.timeout(30)
def test_redis_down_fails_open_logs_and_stops_asking_for_a_while(settings, identity, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    errors_before = RATE_LIMIT_BACKEND_ERRORS._value.get()
    with caplog.at_level(logging.WARNING, logger="paysys.api.throttling"):
        decisions = [rate_limit_check(identity=identity, budget=WRITE, limit=1) for _ in range(5)]
    assert all(d.allowed for d in decisions)
    # One failure opens the breaker; the next four do not wait on Redis again.
    assert RATE_LIMIT_BACKEND_ERRORS._value.get() == errors_before + 1
    assert [r.getMessage() for r in caplog.records] == [
        "rate limiter cannot reach Redis; admitting requests unchecked"
    ]
    assert throttling.breaker.is_open()


@pytest.mark.django_db
def test_a_real_api_key_is_limited_on_a_real_endpoint(client, settings):
    from tests.api.helpers import tenant_create

    settings.PAYSYS_RATE_LIMIT_READ_PER_SECOND = 3
    tenant = tenant_create("Throttled")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tenant.secret}"}
    responses = [client.get("/v1/balance", **auth) for _ in range(4)]
    assert [r.status_code for r in responses[:3]] == [200, 200, 200]
    refused = responses[3]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert refused["Request-Id"].startswith("req_")
    assert refused.json()["error"]["type"] == "rate_limit_error"
    # The merchant's other key has a budget of its own.
    other = client.get("/v1/balance", HTTP_AUTHORIZATION=f"Bearer {tenant.read_secret}")
    assert other.status_code == 200
