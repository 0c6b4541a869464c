"""A circuit breaker around the processor, its state shared by every process through the cache.

Closed: calls pass; each timeout or refusal counts a failure in a window
(``PAYSYS_PROCESSOR_BREAKER_WINDOW_S``). At ``PAYSYS_PROCESSOR_BREAKER_THRESHOLD`` failures it
opens: calls fail at once with ``ProcessorUnavailableError`` (nothing sent, so nothing to
resolve later) for ``PAYSYS_PROCESSOR_BREAKER_COOLDOWN_S``. Then it is half-open: one probe
call is let through (``cache.add`` elects it); its success closes the breaker, its failure
opens it again. Declines are answers, not failures: they never count.

The state lives in the Django cache (Redis in production), not in each process, so a dozen
gunicorn and Celery workers stop hammering a dead processor together; losing the cache only
resets the breaker to closed, which is safe.
"""

import time

from django.conf import settings
from django.core.cache import cache

from payments.processor.base import ProcessorUnavailableError

DEFAULT_THRESHOLD = 5
DEFAULT_WINDOW_S = 30
DEFAULT_COOLDOWN_S = 30
MIN_PROBE_CLAIM_S = 1


class CircuitBreaker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._failures = f"paysys:breaker:{name}:failures"
        self._opened_at = f"paysys:breaker:{name}:opened_at"
        self._probe = f"paysys:breaker:{name}:probe"

    @staticmethod
    def _config() -> tuple[int, int, int]:
        return (
            int(getattr(settings, "PAYSYS_PROCESSOR_BREAKER_THRESHOLD", DEFAULT_THRESHOLD)),
            int(getattr(settings, "PAYSYS_PROCESSOR_BREAKER_WINDOW_S", DEFAULT_WINDOW_S)),
            int(getattr(settings, "PAYSYS_PROCESSOR_BREAKER_COOLDOWN_S", DEFAULT_COOLDOWN_S)),
        )

    def state(self) -> str:
        opened_at = cache.get(self._opened_at)
        if opened_at is None:
            return "closed"
        _, _, cooldown = self._config()
        return "open" if time.time() < opened_at + cooldown else "half_open"

    def before_call(self) -> bool:
        """Let the call through or raise; returns whether the breaker held any state (failures)."""
        held = cache.get_many([self._opened_at, self._failures])
        opened_at = held.get(self._opened_at)
        if opened_at is None:
            return bool(held)
        _, _, cooldown = self._config()
        state = "open" if time.time() < opened_at + cooldown else "half_open"
        # The probe's claim outlives a zero cooldown: a key with no lifetime would vanish at once.
        if state == "half_open" and cache.add(self._probe, 1, timeout=max(cooldown, MIN_PROBE_CLAIM_S)):
            return True
        raise ProcessorUnavailableError("The processor's circuit breaker is open.")

    def record_success(self) -> None:
        cache.delete_many([self._failures, self._opened_at, self._probe])

    def record_failure(self) -> None:
        threshold, window, _ = self._config()
        if cache.get(self._opened_at) is not None:
            # A failed probe: open again for a full cooldown.
            cache.set(self._opened_at, time.time(), timeout=None)
            cache.delete(self._probe)
            return
        cache.add(self._failures, 0, timeout=window)
        try:
            failures = cache.incr(self._failures)
        except ValueError:  # the window expired between add() and incr()
            cache.add(self._failures, 1, timeout=window)
            failures = 1
        if failures >= threshold:
            cache.set(self._opened_at, time.time(), timeout=None)

    def reset(self) -> None:
        self.record_success()
