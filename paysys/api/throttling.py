"""Per-API-key rate limits, counted in Redis so every web process shares one budget.

Algorithm: a sliding-window counter. Each key has one counter per window (one second by
default) and a request is admitted when ``previous * (share of the previous window still
inside the sliding window) + current < limit``. The read, the decision and the increment run
in one Lua script, so concurrent requests on many processes can never admit more than the
limit, and a burst at a window's edge cannot pass twice the limit as a fixed window allows.
Windows are named after the client's clock (web servers run NTP), so the keys are known
before the script runs.

Budgets: reads (GET, HEAD, OPTIONS) and writes have separate limits per key
(``PAYSYS_RATE_LIMIT_READ_PER_SECOND``, ``PAYSYS_RATE_LIMIT_WRITE_PER_SECOND``; 0 means no
limit), so a merchant polling lists cannot starve its own payments. A refused request is a 429
``rate_limit_error`` with ``Retry-After`` (whole seconds until the sliding window admits one
more), rendered by ``paysys.api.errors``.

Redis down: the limiter **fails open**. A rate limit protects capacity; refusing every
payment because the counter store is unreachable would turn a Redis outage into a full API
outage. The failure is logged and counted (``paysys_rate_limit_backend_errors_total``), and
Redis is left alone for ``REDIS_RETRY_AFTER_SECONDS`` so requests do not each wait for a
timeout. Without ``REDIS_URL`` (the embedded ``make run`` mode) there is no limit.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from paysys.metrics import rate_limit_backend_error_record, rate_limited_record

logger = logging.getLogger(__name__)

KEY_PREFIX = "paysys:rl"
WINDOW_MS = 1000
# The limiter sits on every API request: a slow Redis must cost milliseconds, not seconds.
REDIS_TIMEOUT_SECONDS = 0.1
REDIS_RETRY_AFTER_SECONDS = 5.0
READ = "read"
WRITE = "write"

# KEYS[1] current window, KEYS[2] previous window; ARGV limit, window ms, ms elapsed in window.
# Returns {admitted (0/1), current count, previous count}.
_SLIDING_WINDOW_LUA = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (window - elapsed) / window + current + 1 > limit then
  return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], window * 2)
return {1, current, previous}
"""


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    retry_after_seconds: float = 0.0


@lru_cache(maxsize=8)
def _client(url: str) -> tuple[redis.Redis, object]:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    return client, client.register_script(_SLIDING_WINDOW_LUA)


class _Breaker:
    """Per process: after a Redis failure, skip the limiter for a while (fail open, fast)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        with self._lock:
            self._open_until = time.monotonic() + REDIS_RETRY_AFTER_SECONDS

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


breaker = _Breaker()


def _seconds_until_admitted(
    *, limit: int, window_ms: int, elapsed_ms: int, current: int, previous: int
) -> float:
    """When will ``previous * weight + current + 1 <= limit`` hold again, no one else calling?"""
    room = limit - 1  # what the estimate may be before this request
    if current <= room and previous > 0:
        # Still in this window: the previous window's weight shrinks as time passes, until
        # ``previous * (window - elapsed - t) / window <= room - current``.
        wait_ms = (window_ms - elapsed_ms) - (room - current) * window_ms / previous
        return max(wait_ms, 0) / 1000
    # Only after the roll-over, when this window's count becomes the shrinking previous one.
    into_next_ms = window_ms * (1 - room / current) if current else 0
    return ((window_ms - elapsed_ms) + max(into_next_ms, 0)) / 1000


def rate_limit_check(
    *, identity: str, budget: str, limit: int, window_ms: int = WINDOW_MS, now_ms: int | None = None
) -> RateLimitDecision:
    """Count one request of ``identity`` against ``budget``; admit or refuse it. Never raises."""
    url = settings.REDIS_URL
    if limit <= 0 or not url or breaker.is_open():
        return RateLimitDecision(allowed=True)
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    window_index, elapsed_ms = divmod(now_ms, window_ms)
    base = f"{KEY_PREFIX}:{budget}:{identity}:{window_ms}"
    try:
        _, script = _client(url)
        admitted, current, previous = script(
            keys=[f"{base}:{window_index}", f"{base}:{window_index - 1}"], args=[limit, window_ms, elapsed_ms]
        )
    except redis.RedisError as exc:
        breaker.trip()
        rate_limit_backend_error_record()
        logger.warning(
            "rate limiter cannot reach Redis; admitting requests unchecked",
            extra={"error": type(exc).__name__, "skip_seconds": REDIS_RETRY_AFTER_SECONDS},
        )
        return RateLimitDecision(allowed=True)
    if admitted:
        return RateLimitDecision(allowed=True)
    retry_after = _seconds_until_admitted(
        limit=limit, window_ms=window_ms, elapsed_ms=elapsed_ms, current=int(current), previous=int(previous)
    )
    return RateLimitDecision(allowed=False, retry_after_seconds=retry_after)


def budget_for(method: str) -> str:
    return READ if method in SAFE_METHODS else WRITE


def limit_for(budget: str) -> int:
    if not settings.PAYSYS_RATE_LIMIT_ENABLED:
        return 0
    if budget == READ:
        return settings.PAYSYS_RATE_LIMIT_READ_PER_SECOND
    return settings.PAYSYS_RATE_LIMIT_WRITE_PER_SECOND


class ApiKeyRateThrottle(BaseThrottle):
    """DRF throttle: one budget per API key and per read/write. Anonymous calls pass (the
    operations and schema views); an API call without a valid key is refused before this."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: object) -> bool:
        api_key_pk = getattr(request.user, "api_key_pk", None)
        if api_key_pk is None:
            return True
        budget = budget_for(request.method)
        decision = rate_limit_check(identity=str(api_key_pk), budget=budget, limit=limit_for(budget))
        if decision.allowed:
            return True
        rate_limited_record(budget=budget)
        # Retry-After is whole seconds; rounding down would invite a retry that is refused too.
        self._wait = float(max(1, math.ceil(decision.retry_after_seconds)))
        return False

    def wait(self) -> float | None:
        return self._wait
