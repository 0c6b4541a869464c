"""The business counters of paysys, exported in Prometheus' text format at ``/metrics``.

django-prometheus already counts requests, latencies, database and cache calls; this module
adds what only the domain knows: payments by status, transfers, ledger postings, webhook
delivery outcomes, rate-limited requests. Other modules call the small ``*_record``
functions below rather than touching the counter objects, for two reasons:

* A count is taken **after the database commit** (``transaction.on_commit``): a transfer that
  rolled back was never made and must not be counted. Outside a transaction the callback
  runs at once.
* Label values are checked against a small closed set, because every distinct label value is
  a new time series; an unbounded value (an id, an error message) would grow Prometheus'
  memory without limit. An unknown value is counted as ``other``.

Processes: each gunicorn worker and each Celery worker has its own counters. With
``PROMETHEUS_MULTIPROC_DIR`` set (the Dockerfile does), prometheus_client keeps them in shared
files and ``/metrics`` sums every process on the machine; the Celery worker can also serve its
own counters on ``PAYSYS_WORKER_METRICS_PORT`` (see ``paysys.ops.apps``).
"""

from django.db import transaction
from prometheus_client import Counter, Histogram

OTHER = "other"

PAYMENT_STATUSES = frozenset(
    {
        "processing",
        "requires_action",
        "requires_review",
        "requires_capture",
        "succeeded",
        "canceled",
        "failed",
    }
)
REFUND_STATUSES = frozenset({"pending", "succeeded", "failed", "canceled"})
TRANSFER_ACTIONS = frozenset({"created", "reversed"})
WEBHOOK_OUTCOMES = frozenset({"succeeded", "failed", "timeout", "endpoint_disabled", "refused"})
SETTLEMENT_STATUSES = frozenset({"completed", "failed", "skipped"})
RATE_LIMIT_BUDGETS = frozenset({"read", "write"})
DEPENDENCIES = frozenset({"database", "redis", "broker"})

# Webhook receivers answer in milliseconds to a few seconds; the delivery timeout caps the top.
WEBHOOK_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

PAYMENTS = Counter("paysys_payments", "Payments that reached a status.", ["status"])
REFUNDS = Counter("paysys_refunds", "Refunds that reached a status.", ["status"])
TRANSFERS = Counter("paysys_transfers", "Ledger transfers created or reversed.", ["action"])
LEDGER_POSTINGS = Counter("paysys_ledger_postings", "Journal transactions posted to the ledger.")
LEDGER_POST_RETRIES = Counter(
    "paysys_ledger_post_retries", "Ledger postings retried after a deadlock or serialization failure."
)
WEBHOOK_DELIVERIES = Counter(
    "paysys_webhook_deliveries", "Webhook delivery attempts by outcome.", ["outcome"]
)
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "paysys_webhook_delivery_seconds",
    "Time a merchant's endpoint took to answer a webhook delivery.",
    buckets=WEBHOOK_LATENCY_BUCKETS,
)
SETTLEMENTS = Counter("paysys_settlements", "Per-merchant settlements by outcome.", ["status"])
RATE_LIMITED = Counter("paysys_rate_limited_requests", "API requests refused with 429.", ["budget"])
RATE_LIMIT_BACKEND_ERRORS = Counter(
    "paysys_rate_limit_backend_errors", "Rate-limit checks skipped because Redis was unreachable."
)
IDEMPOTENT_REPLAYS = Counter("paysys_idempotent_replays", "POST responses replayed from an Idempotency-Key.")
READINESS_FAILURES = Counter(
    "paysys_readiness_failures", "Readiness checks that found a dependency down.", ["dependency"]
)


def _label(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else OTHER


def _after_commit(callback) -> None:
    # robust=True: a metrics failure must never break the caller's committed work.
    transaction.on_commit(callback, robust=True)


def payment_record(*, status: str) -> None:
    """Count a payment that reached ``status`` (API status names), once its transaction commits."""
    label = _label(status, PAYMENT_STATUSES)
    _after_commit(lambda: PAYMENTS.labels(status=label).inc())


def refund_record(*, status: str) -> None:
    label = _label(status, REFUND_STATUSES)
    _after_commit(lambda: REFUNDS.labels(status=label).inc())


def transfer_record(*, action: str = "created") -> None:
    """Count a transfer (``created``) or a transfer reversal (``reversed``) after commit."""
    label = _label(action, TRANSFER_ACTIONS)
    _after_commit(lambda: TRANSFERS.labels(action=label).inc())


def ledger_posting_record() -> None:
    _after_commit(LEDGER_POSTINGS.inc)


def ledger_post_retry_record() -> None:
    """Count a retried posting at once: the retry happens whether or not anything commits."""
    LEDGER_POST_RETRIES.inc()


def webhook_delivery_record(*, outcome: str, seconds: float | None = None) -> None:
    """Count one delivery attempt; ``seconds`` is the endpoint's response time when it answered.

    Counted at once: an attempt happened on the network whatever the database does next.
    """
    WEBHOOK_DELIVERIES.labels(outcome=_label(outcome, WEBHOOK_OUTCOMES)).inc()
    if seconds is not None:
        WEBHOOK_DELIVERY_SECONDS.observe(seconds)


def settlement_record(*, status: str) -> None:
    label = _label(status, SETTLEMENT_STATUSES)
    _after_commit(lambda: SETTLEMENTS.labels(status=label).inc())


def rate_limited_record(*, budget: str) -> None:
    RATE_LIMITED.labels(budget=_label(budget, RATE_LIMIT_BUDGETS)).inc()


def rate_limit_backend_error_record() -> None:
    RATE_LIMIT_BACKEND_ERRORS.inc()


def idempotent_replay_record() -> None:
    IDEMPOTENT_REPLAYS.inc()


def readiness_failure_record(*, dependency: str) -> None:
    READINESS_FAILURES.labels(dependency=_label(dependency, DEPENDENCIES)).inc()
