"""A container health probe: ``python -m paysys.ops.probe [healthz|readyz]``; exit 0 when 200.

Production settings redirect plain HTTP to HTTPS and refuse unknown ``Host`` headers, so the
probe speaks as the TLS proxy would: ``X-Forwarded-Proto: https`` and the first of
``ALLOWED_HOSTS``. It needs no Django and no curl (the slim image has none).
"""

import os
import sys
import urllib.error
import urllib.request

PROBE_TIMEOUT_SECONDS = 3


def probe(endpoint: str = "healthz") -> int:
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
    if host in {"", "*"}:
        host = "localhost"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/{endpoint}", headers={"Host": host, "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_SECONDS) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(probe(sys.argv[1] if len(sys.argv) > 1 else "healthz"))
