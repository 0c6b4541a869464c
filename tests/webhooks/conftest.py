import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import F
from django.test import TestCase

from paysys.events.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from paysys.events.services import event_emit
from paysys.ids import new_id
from tests.webhooks.receiver import Receiver

BASE_DIR = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT = 30.0


@pytest.fixture
def allow_private(settings):
    """Let endpoints on 127.0.0.1 through the SSRF guard (the test receiver lives there)."""
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    return settings


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def merchant_id() -> str:
    return new_id("mer")


@pytest.fixture
def queue(settings):
    """A queue of this test's own, emptied afterwards (no worker consumes it here)."""
    name = f"webhooks-svc-{uuid.uuid4().hex[:10]}"
    settings.PAYSYS_WEBHOOK_QUEUE = name
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    yield client, name
    client.delete(name)
    client.close()


def queued_delivery_ids(client: redis.Redis, name: str) -> list[list[int]]:
    """The delivery ids of each ``webhook_deliver`` message waiting on queue ``name``, oldest first."""
    batches = []
    for raw in reversed(client.lrange(name, 0, -1)):  # kombu pushes on the left
        message = json.loads(raw)
        assert message["headers"]["task"] == "paysys.events.webhook_deliver"
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        batches.append(args[0])
    return batches


def after_commit():
    """Run on-commit callbacks at the end of the block, also inside a test's transaction.

    In a ``transaction=True`` test nothing is captured: the callbacks run at the real commit.
    """
    if connection.in_atomic_block:
        return TestCase.captureOnCommitCallbacks(execute=True)
    return nullcontext()


def emit(merchant_id: str, event_type: str = "payment.succeeded", object_id: str | None = None):
    """Commit one event, as a domain service would; the fan-out runs after the commit."""
    with after_commit(), transaction.atomic(durable=True):
        return event_emit(
            event_type=event_type,
            merchant_id=merchant_id,
            object_type="payment",
            data={"object": {"id": object_id or new_id("pay"), "object": "payment", "amount": 1050}},
        )


def travel(delta: timedelta) -> None:
    """Move the clock of every webhook row ``delta`` into the past: as if ``delta`` had passed.

    The worker runs in another process on the real clock, so time is controlled through the rows:
    what was due in ``delta`` is due now, and the spacing between recorded attempts is preserved.
    One transaction: a worker draining due deliveries sees the clock move all at once.
    """
    with transaction.atomic():
        _travel(delta)


def _travel(delta: timedelta) -> None:
    WebhookDelivery.objects.filter(next_attempt_at__isnull=False).update(
        next_attempt_at=F("next_attempt_at") - delta
    )
    WebhookDelivery.objects.filter(dispatched_at__isnull=False).update(
        dispatched_at=F("dispatched_at") - delta
    )
    WebhookDelivery.objects.filter(last_attempt_at__isnull=False).update(
        last_attempt_at=F("last_attempt_at") - delta
    )
    WebhookDelivery.objects.update(created=F("created") - delta)
    WebhookAttempt.objects.update(created=F("created") - delta)
    WebhookEndpoint.objects.filter(failing_since__isnull=False).update(
        failing_since=F("failing_since") - delta
    )
    WebhookEndpoint.objects.update(created=F("created") - delta)


class Worker:
    """A real Celery worker (thread pool) in a subprocess, consuming this test's own queue."""

    def __init__(self, *, queue: str, env: dict[str, str], log_path: Path) -> None:
        self.queue = queue
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, concurrency: int = 4) -> "Worker":
        log = self.log_path.open("ab")
        start_offset = self.log_path.stat().st_size
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "paysys",
                "worker",
                "-Q",
                self.queue,
                "-P",
                "threads",
                "-c",
                str(concurrency),
                "-n",
                f"{self.queue}-{uuid.uuid4().hex[:6]}@%h",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "-l",
                "INFO",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.log_path.read_bytes()[start_offset:]
            if b"ready." in text:
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("celery worker did not start:\n" + self.log_path.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no acknowledgement, connections just drop."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_factory(settings, tmp_path):
    """Start real workers on a queue unique to this test; webhook tasks are published to it."""
    queue = f"webhooks-test-{uuid.uuid4().hex[:10]}"
    settings.PAYSYS_WEBHOOK_QUEUE = queue
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    if db.get("PASSWORD"):
        database_url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    workers: list[Worker] = []

    def make(**overrides: str) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PAYSYS_ENV": "test",
            "PAYSYS_WEBHOOK_QUEUE": queue,
            "PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
            "DB_CONN_MAX_AGE": "0",
            "LOG_LEVEL": "WARNING",
            **overrides,
        }
        w = Worker(queue=queue, env=env, log_path=tmp_path / "worker.log")
        workers.append(w)
        return w

    yield make
    for w in workers:
        w.stop()


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")
