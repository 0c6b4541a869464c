"""gunicorn's configuration for the web process (the Dockerfile and bench/api.py use it).

Everything comes from the environment: ``PORT`` (8000), ``WEB_CONCURRENCY`` (workers,
default 2 * cores + 1), ``GUNICORN_THREADS`` (1: sync workers; a payment request spends its
time in PostgreSQL, so processes scale better than threads under the GIL), ``GUNICORN_TIMEOUT``
and ``FORWARDED_ALLOW_IPS`` (the proxy that terminates TLS). Access lines are written by the
application (``paysys.access``, JSON with request and correlation ids), so gunicorn's own
access log is off and its error log is JSON too.

With ``PROMETHEUS_MULTIPROC_DIR`` set, every worker writes its counters there and
``/metrics`` sums them; the folder is emptied when the master starts and a dead worker's live
gauges are dropped.
"""

import multiprocessing
import os
import shutil
from pathlib import Path

DEFAULT_PORT = 8000
DEFAULT_TIMEOUT_SECONDS = 30

bind = f"0.0.0.0:{os.environ.get('PORT', DEFAULT_PORT)}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", DEFAULT_TIMEOUT_SECONDS))
graceful_timeout = timeout
keepalive = 5
# Heartbeat files on tmpfs: a container's overlay filesystem can stall workers otherwise.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 - gunicorn's documented choice
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {"gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}


def on_starting(server) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
