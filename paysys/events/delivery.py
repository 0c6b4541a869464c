"""One HTTP POST of a signed webhook to a merchant's endpoint (no database here).

* The host is resolved and checked by ``paysys.events.ssrf`` right before connecting, and the
  connection goes to the checked IP; the name travels in ``Host`` and as TLS SNI, so the
  certificate is still verified against the name.
* Redirects are never followed (a 3xx is a failed attempt), proxies from the environment are
  ignored (a proxy would connect to the name itself, skipping the check), and connections are
  not kept alive (a pooled connection to a shared IP must not carry another name's request).
* Connect and read timeouts come from settings; the response body is read only up to
  ``RESPONSE_EXCERPT_BYTES`` and within the read timeout overall, so a receiver that drips
  bytes cannot hold a worker longer than the timeouts allow.
"""

import codecs
import threading
import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from paysys.events.ssrf import WebhookUrlError, url_resolve

RESPONSE_EXCERPT_BYTES = 1024
ERROR_MAX_LENGTH = 500
USER_AGENT = "paysys-webhooks/1"
DEFAULT_CONNECT_TIMEOUT_SECONDS = 3.0
DEFAULT_READ_TIMEOUT_SECONDS = 10.0

OUTCOME_SUCCEEDED = "succeeded"
OUTCOME_FAILED = "failed"
OUTCOME_TIMEOUT = "timeout"
OUTCOME_REFUSED = "refused"

_local = threading.local()


@dataclass(frozen=True)
class SendResult:
    outcome: str
    status_code: int | None = None
    latency_ms: int | None = None
    response_excerpt: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.outcome == OUTCOME_SUCCEEDED


def _timeouts() -> tuple[float, float]:
    return (
        float(getattr(settings, "PAYSYS_WEBHOOK_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT_SECONDS)),
        float(getattr(settings, "PAYSYS_WEBHOOK_READ_TIMEOUT", DEFAULT_READ_TIMEOUT_SECONDS)),
    )


def _client() -> httpx.Client:
    # One client per thread: cheap to reuse (its TLS context is built once), never shared
    # across threads of a worker's thread pool.
    client = getattr(_local, "client", None)
    if client is None:
        client = httpx.Client(
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": USER_AGENT},
        )
        _local.client = client
    return client


def _excerpt(raw: bytes) -> str:
    """The start of a response body as text whose UTF-8 encoding fits ``RESPONSE_EXCERPT_BYTES``.

    Invalid bytes become U+FFFD, which takes three bytes in UTF-8, so the text is cut again after
    decoding, at a character boundary; a character split by the first cut is dropped, not replaced.
    NUL becomes U+FFFD too: PostgreSQL text cannot hold it.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(raw[:RESPONSE_EXCERPT_BYTES], final=False).replace("\x00", "\ufffd")
    encoded = text.encode()
    if len(encoded) <= RESPONSE_EXCERPT_BYTES:
        return text
    return encoded[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="ignore")


def webhook_post(*, url: str, headers: dict[str, str], body: bytes) -> SendResult:
    """POST ``body`` to ``url`` over a connection pinned to a checked address."""
    try:
        target = url_resolve(url)
    except WebhookUrlError as exc:
        return SendResult(outcome=OUTCOME_REFUSED, error=exc.message[:ERROR_MAX_LENGTH])

    connect_timeout, read_timeout = _timeouts()
    request_url = httpx.URL(url).copy_with(host=str(target.ip))
    default_port = target.port == (443 if target.scheme == "https" else 80)
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if not default_port:
        host_header = f"{host_header}:{target.port}"
    request_headers = {**headers, "Content-Type": "application/json", "Host": host_header}
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    started = time.monotonic()
    try:
        with _client().stream(
            "POST",
            request_url,
            content=body,
            headers=request_headers,
            timeout=timeout,
            extensions={"sni_hostname": target.host},
        ) as response:
            raw = b""
            deadline = started + connect_timeout + read_timeout
            for chunk in response.iter_raw():
                raw += chunk
                if len(raw) >= RESPONSE_EXCERPT_BYTES or time.monotonic() > deadline:
                    break
            status_code = response.status_code
    except httpx.TimeoutException as exc:
        return SendResult(
            outcome=OUTCOME_TIMEOUT,
            latency_ms=_elapsed_ms(started),
            error=f"{type(exc).__name__}: timed out"[:ERROR_MAX_LENGTH],
        )
    except httpx.HTTPError as exc:
        return SendResult(
            outcome=OUTCOME_FAILED,
            latency_ms=_elapsed_ms(started),
            error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX_LENGTH],
        )
    outcome = OUTCOME_SUCCEEDED if 200 <= status_code < 300 else OUTCOME_FAILED
    return SendResult(
        outcome=outcome,
        status_code=status_code,
        latency_ms=_elapsed_ms(started),
        response_excerpt=_excerpt(raw),
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
