"""The processor adapter: the interface, the simulator, and the guarded client services use.

Services call ``processor_call(operation, **kwargs)``: it picks the configured backend
(``PAYSYS_PROCESSOR_BACKEND``, the simulator by default), passes the per-call timeout
(``PAYSYS_PROCESSOR_TIMEOUT_MS``) and runs the call through the shared circuit breaker.
"""

from functools import cache as memoize

from django.conf import settings
from django.utils.module_loading import import_string

from payments.processor.base import (
    OperationStatus,
    Processor,
    ProcessorResult,
    ProcessorTimeoutError,
    ProcessorUnavailableError,
    ReportLine,
)
from payments.processor.breaker import CircuitBreaker

DEFAULT_BACKEND = "payments.processor.simulator.SimulatorProcessor"
DEFAULT_TIMEOUT_MS = 5000

__all__ = [
    "OperationStatus",
    "Processor",
    "ProcessorResult",
    "ProcessorTimeoutError",
    "ProcessorUnavailableError",
    "ReportLine",
    "breaker",
    "processor_call",
    "processor_get",
]

breaker = CircuitBreaker("processor")


@memoize
def _backend(path: str) -> Processor:
    return import_string(path)()


def processor_get() -> Processor:
    return _backend(getattr(settings, "PAYSYS_PROCESSOR_BACKEND", DEFAULT_BACKEND))


def processor_call(operation: str, **kwargs: object) -> ProcessorResult | None:
    """Call ``operation`` (authorize, confirm, capture, void, refund, status) with breaker and timeout."""
    timeout = int(getattr(settings, "PAYSYS_PROCESSOR_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)) / 1000
    held = breaker.before_call()
    try:
        result = getattr(processor_get(), operation)(timeout=timeout, **kwargs)
    except (ProcessorTimeoutError, ProcessorUnavailableError):
        breaker.record_failure()
        raise
    if held:  # a clean breaker has nothing to clear: no cache round trip on the hot path
        breaker.record_success()
    return result
