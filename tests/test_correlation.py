"""Correlation ids: one per request or task, on every log line, and carried into Celery tasks."""

import io
import json
import logging
import queue

import pytest
from celery.contrib.testing.worker import start_worker
from django.http import HttpResponse
from django.test import RequestFactory

from paysys.audit.context import ACTOR_OPERATOR, ACTOR_SYSTEM, actor_get, actor_scope
from paysys.celery import CORRELATION_HEADER
from paysys.celery import app as celery_app
from paysys.correlation import (
    CORRELATION_ID_HEADER,
    REQUEST_ID_HEADER,
    RequestIdMiddleware,
    correlation_id_get,
    correlation_scope,
    request_id_get,
)

logger = logging.getLogger("paysys.tests.correlation")
_seen: "queue.Queue[tuple[str | None, str, str | None]]" = queue.Queue()


@celery_app.task(name="tests.correlation.echo")
def echo_context() -> tuple[str | None, str, str | None]:
    actor = actor_get()
    observed = (correlation_id_get(), actor.actor_type, actor.actor_id)
    _seen.put(observed)
    return observed


@pytest.fixture
def json_log():
    """The configured console handler (JSON formatter, correlation filter), writing to a buffer."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    finally:
        handler.setStream(previous)


def _middleware(view):
    return RequestIdMiddleware(view)


def test_request_gets_a_request_id_and_uses_it_as_correlation_id():
    observed = {}

    def view(request):
        observed.update(request_id=request_id_get(), correlation_id=correlation_id_get())
        return HttpResponse("ok")

    response = _middleware(view)(RequestFactory().get("/"))
    assert response[REQUEST_ID_HEADER].startswith("req_")
    assert observed == {
        "request_id": response[REQUEST_ID_HEADER],
        "correlation_id": response[REQUEST_ID_HEADER],
    }
    assert response[CORRELATION_ID_HEADER] == response[REQUEST_ID_HEADER]
    assert correlation_id_get() is None  # nothing leaks past the request


def test_incoming_correlation_id_is_kept_and_a_malformed_one_ignored():
    seen = []

    def view(request):
        seen.append(correlation_id_get())
        return HttpResponse("ok")

    _middleware(view)(RequestFactory().get("/", HTTP_X_CORRELATION_ID="cor_upstream-42"))
    bad = _middleware(view)(RequestFactory().get("/", HTTP_X_CORRELATION_ID="evil\nforged line"))
    assert seen == ["cor_upstream-42", bad[REQUEST_ID_HEADER]]


def test_json_log_lines_carry_request_id_and_correlation_id(json_log):
    def view(request):
        logger.warning("inside the request")
        return HttpResponse("ok")

    response = _middleware(view)(RequestFactory().get("/", HTTP_X_CORRELATION_ID="cor_log"))
    with correlation_scope("cor_task"):
        logger.warning("inside a task")
    logger.warning("outside")

    lines = {line["message"]: line for line in json_log()}
    assert lines["inside the request"]["request_id"] == response[REQUEST_ID_HEADER]
    assert lines["inside the request"]["correlation_id"] == "cor_log"
    assert lines["inside the request"]["level"] == "WARNING"
    assert lines["inside a task"]["correlation_id"] == "cor_task"
    assert lines["inside a task"]["request_id"] is None
    assert lines["outside"]["correlation_id"] is None


def test_correlation_scope_makes_a_new_id_and_restores_the_previous_one():
    with correlation_scope("cor_outer"):
        with correlation_scope() as inner:
            assert inner.startswith("cor_") and inner != "cor_outer"
            assert correlation_id_get() == inner
        assert correlation_id_get() == "cor_outer"
    assert correlation_id_get() is None


def test_eager_task_runs_under_the_callers_correlation_id_and_actor():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with correlation_scope("cor_eager"), actor_scope(actor_type=ACTOR_OPERATOR, actor_id="7"):
            result = echo_context.delay()
    finally:
        celery_app.conf.task_always_eager = previous
    assert tuple(result.get()) == ("cor_eager", ACTOR_OPERATOR, "7")
    assert correlation_id_get() is None


def test_task_run_restores_correlation_id_and_actor_from_message_headers():
    headers: dict = {}
    with correlation_scope("cor_published"), actor_scope(actor_type=ACTOR_OPERATOR, actor_id="9"):
        from celery import signals

        signals.before_task_publish.send(
            sender=echo_context.name,
            body=(),
            exchange="",
            routing_key="celery",
            headers=headers,
            properties={},
            declare=[],
            retry_policy=None,
        )
    assert headers[CORRELATION_HEADER] == "cor_published"

    result = echo_context.apply(headers=headers)
    assert tuple(result.get()) == ("cor_published", ACTOR_OPERATOR, "9")
    assert correlation_id_get() is None
    assert actor_get().actor_type == ACTOR_SYSTEM


def test_task_queued_without_context_runs_as_system_under_a_new_correlation_id():
    result = echo_context.apply()
    correlation_id, actor_type, actor_id = result.get()
    assert correlation_id.startswith("cor_")
    assert (actor_type, actor_id) == (ACTOR_SYSTEM, "tests.correlation.echo")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_task_on_a_real_worker_runs_under_the_publishers_correlation_id():
    while not _seen.empty():  # what earlier tests ran in this process
        _seen.get_nowait()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with correlation_scope("cor_worker"), actor_scope(actor_type=ACTOR_OPERATOR, actor_id="11"):
            echo_context.delay()
        observed = _seen.get(timeout=30)
    assert observed == ("cor_worker", ACTOR_OPERATOR, "11")
