"""What `make run` runs once the virtualenv is installed: ``python -m paysys.ops.run``.

With no ``DATABASE_URL``, the embedded PostgreSQL under ``var/postgres/`` first (paysys/ops/embedded_db.py);
then ``migrate``, ``seed_demo --days 30`` (it prints the admin login and a fresh test API key; the
first run also writes the demo merchant's last 30 days of business, later runs only the days
since), ``refresh_dashboard --all`` (the operators' dashboard's figures of those past days), and
web, Celery worker and beat under honcho (``Procfile``). Webhook URLs on localhost are
allowed (``PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS``, unless set otherwise): a developer's receiver runs
there, and so do the demo merchant's endpoints. One Ctrl-C stops honcho's three processes and
then the embedded server: nothing is left running.
"""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_HISTORY_DAYS = 30


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def _honcho() -> int:
    honcho = subprocess.Popen(
        [str(Path(sys.executable).with_name("honcho")), "-f", "Procfile", "start"], cwd=ROOT
    )

    # A terminal's Ctrl-C reaches honcho itself (same process group); a signal sent to this process
    # alone is passed on. Either way this process waits for honcho to stop its three processes.
    def forward(signum, frame):
        honcho.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    return honcho.wait()


def _terminated(signum, frame):
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C, so the embedded server is stopped


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paysys.settings")
    os.environ.setdefault("PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS", "true")
    from django.conf import settings

    from paysys.ops import embedded_db

    signal.signal(signal.SIGTERM, _terminated)
    pgdata = settings.PAYSYS_EMBEDDED_POSTGRES_DIR
    if pgdata is not None:
        print(f"paysys: embedded PostgreSQL, data in {pgdata}", flush=True)
    with embedded_db.running(pgdata) if pgdata is not None else contextlib.nullcontext():
        _manage("migrate", "--noinput")
        _manage("seed_demo", "--days", str(DEMO_HISTORY_DAYS))
        # The history is written with past dates, further back than beat's refresh reaches.
        _manage("refresh_dashboard", "--all")
        print(
            f"paysys: http://127.0.0.1:{settings.PAYSYS_PORT}/  "
            "(admin /admin/, API /v1/, docs /v1/docs/, health /healthz)",
            flush=True,
        )
        return _honcho()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
