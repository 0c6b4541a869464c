"""The ops app: health, readiness, and the Celery worker's own metrics endpoint.

A Celery worker serves no HTTP, so the counters its tasks increment (webhook deliveries,
settlements) would never reach ``/metrics`` of the web process. When
``PAYSYS_WORKER_METRICS_PORT`` is set, each worker serves Prometheus' text format on that port
once it is ready; with ``PROMETHEUS_MULTIPROC_DIR`` set it sums the prefork children too.
"""

import logging
import os

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


def worker_metrics_server_start(**_: object) -> tuple | None:
    """Serve this worker's counters on ``PAYSYS_WORKER_METRICS_PORT``; returns (server, thread)."""
    port = getattr(settings, "PAYSYS_WORKER_METRICS_PORT", None)
    if not port:
        return None
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    address = getattr(settings, "PAYSYS_WORKER_METRICS_ADDRESS", "0.0.0.0")  # noqa: S104 - scraped from outside
    served = start_http_server(int(port), addr=address, registry=registry)
    logger.info("worker metrics served", extra={"port": int(port)})
    return served


class OpsConfig(AppConfig):
    name = "paysys.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from celery import signals

        signals.worker_ready.connect(worker_metrics_server_start, weak=False)
