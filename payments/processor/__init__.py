"""The processor adapter: the interface, the simulator, and the guarded client services use.

Services call ``processor_call(operation, livemode=..., **kwargs)``: it picks the backend of
the payment's mode, passes the per-call timeout (``PAYSYS_PROCESSOR_TIMEOUT_MS``) and runs the
call through that backend's circuit breaker. Test mode uses ``PAYSYS_PROCESSOR_BACKEND`` (the
simulator by default); live mode uses ``PAYSYS_LIVE_PROCESSOR_BACKEND`` only, which is empty
by default: live card payments are then refused (``LiveProcessorNotConfiguredError``), never
simulated.
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
)
from payments.processor.breaker import CircuitBreaker
from paysys.errors import ServiceUnavailableError

DEFAULT_BACKEND = "payments.processor.simulator.SimulatorProcessor"
DEFAULT_TIMEOUT_MS = 5000

__all__ = [
    "LiveProcessorNotConfiguredError",
    "OperationStatus",
    "Processor",
    "ProcessorResult",
    "ProcessorTimeoutError",
    "ProcessorUnavailableError",
    "breaker",
    "processor_call",
    "processor_get",
    "processor_mode_check",
]

# One breaker per mode: the live network failing does not stop test traffic, nor the reverse.
breaker = CircuitBreaker("processor")
live_breaker = CircuitBreaker("processor_live")


class LiveProcessorNotConfiguredError(ServiceUnavailableError):
    """Live mode has no processor. A 400 to the merchant (retrying will not help until one is
    configured), and to background work a processor that is unavailable: expiry and the
    resolver skip the payment and try again on their next run."""

    status_code = 400
    error_type = "invalid_request_error"
    default_code = "live_mode_unavailable"


@memoize
def _backend(path: str) -> Processor:
    return import_string(path)()


def processor_mode_check(*, livemode: bool) -> None:
    """Refuse a new live processor operation when no live processor is configured."""
    if livemode and not settings.PAYSYS_LIVE_PROCESSOR_BACKEND:
        raise LiveProcessorNotConfiguredError(
            "Live card payments are not available: no live processor is configured. "
            "Use a test key (sk_test_…) to try the API with test cards.",
        )


def processor_get(*, livemode: bool = False) -> Processor:
    """The backend of a mode: the live processor for live objects, the test one (simulator) else."""
    if livemode:
        processor_mode_check(livemode=True)
        return _backend(settings.PAYSYS_LIVE_PROCESSOR_BACKEND)
    return _backend(getattr(settings, "PAYSYS_PROCESSOR_BACKEND", DEFAULT_BACKEND))


def processor_call(operation: str, *, livemode: bool = False, **kwargs: object) -> ProcessorResult | None:
    """Call ``operation`` (authorize, confirm, capture, void, refund, status) on the mode's
    backend, with its breaker and the timeout."""
    timeout = int(getattr(settings, "PAYSYS_PROCESSOR_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)) / 1000
    if livemode and not settings.PAYSYS_LIVE_PROCESSOR_BACKEND:
        # Nobody can be asked: the outcome is unknown, and the operation stays pending (services
        # refuse new live operations before recording them, ``processor_mode_check``).
        raise ProcessorTimeoutError("No live processor is configured.")
    backend = processor_get(livemode=livemode)
    guard = live_breaker if livemode else breaker
    held = guard.before_call()
    try:
        result = getattr(backend, operation)(timeout=timeout, **kwargs)
    except (ProcessorTimeoutError, ProcessorUnavailableError):
        guard.record_failure()
        raise
    if held:  # a clean breaker has nothing to clear: no cache round trip on the hot path
        guard.record_success()
    return result
