"""The Celery app. Tasks are thin wrappers over services.

Who queued a task travels with it: at publish time the correlation id and the audit actor of
the caller are stamped on the message headers (``before_task_publish``), and around the task's
run they are restored (``task_prerun`` / ``task_postrun``), so log lines and audit rows written
by the task carry the request's correlation id and actor. A task nobody queued with a context
(beat) runs under a new correlation id as the ``system`` actor named after the task.

In eager mode (``CELERY_TASK_ALWAYS_EAGER``) nothing is published: the task runs inside the
caller's context, which it keeps.
"""

import os
from contextlib import ExitStack

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paysys.settings")

app = Celery("paysys")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Not "correlation_id": Celery itself sets that (the task id) on every message.
CORRELATION_HEADER = "paysys_correlation_id"
ACTOR_TYPE_HEADER = "paysys_actor_type"
ACTOR_ID_HEADER = "paysys_actor_id"

# The scopes entered for each running task, left again when it ends.
_scopes: dict[str, ExitStack] = {}


@signals.before_task_publish.connect
def _stamp_context(headers: dict | None = None, **_: object) -> None:
    from paysys.audit.context import actor_get, actor_is_set
    from paysys.correlation import correlation_id_get

    if headers is None:
        return
    correlation_id = correlation_id_get()
    if correlation_id:
        headers[CORRELATION_HEADER] = correlation_id
    if actor_is_set():
        actor = actor_get()
        headers[ACTOR_TYPE_HEADER] = actor.actor_type
        headers[ACTOR_ID_HEADER] = actor.actor_id


def _request_header(task: object, name: str) -> str | None:
    """A custom header: a worker exposes it as a request attribute, ``apply`` in ``headers``."""
    request = task.request
    value = getattr(request, name, None)
    if value is None and isinstance(getattr(request, "headers", None), dict):
        value = request.headers.get(name)
    return value


@signals.task_prerun.connect
def _enter_task_scope(task_id: str, task: object, **_: object) -> None:
    from paysys.audit.context import ACTOR_SYSTEM, actor_is_set, actor_scope
    from paysys.correlation import correlation_id_get, correlation_scope, request_id_get

    stack = ExitStack()
    incoming = _request_header(task, CORRELATION_HEADER)
    # Eager mode publishes nothing: the caller's own correlation id is still current.
    stack.enter_context(correlation_scope(incoming or correlation_id_get(), request_id_get()))
    actor_type = _request_header(task, ACTOR_TYPE_HEADER)
    if actor_type:
        stack.enter_context(
            actor_scope(actor_type=actor_type, actor_id=_request_header(task, ACTOR_ID_HEADER))
        )
    elif not actor_is_set():
        stack.enter_context(actor_scope(actor_type=ACTOR_SYSTEM, actor_id=getattr(task, "name", None)))
    _scopes[task_id] = stack


@signals.task_postrun.connect
def _leave_task_scope(task_id: str, **_: object) -> None:
    stack = _scopes.pop(task_id, None)
    if stack is not None:
        stack.close()
