"""A real gunicorn serving paysys against the test database, for tests that kill it."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The test database's URL (psycopg accepts this ``postgresql://`` form, Django's env too)."""
    s = connection.settings_dict
    return f"postgresql://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def server_start(port: int, *, workers: int = 1, **env: str) -> subprocess.Popen:
    """gunicorn on ``port`` in its own process group, once it answers /healthz."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "paysys.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "PAYSYS_ENV": "test",
            "PAYSYS_RATE_LIMIT_ENABLED": "false",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:  # e.g. another process took the port in the meantime
            raise AssertionError(f"the server exited with {process.returncode} before serving")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("the server did not start")


def server_workers(process: subprocess.Popen) -> list[int]:
    """The pids of the master's worker processes."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
    return [int(pid) for pid in children.split()]


def server_kill(process: subprocess.Popen) -> None:
    """SIGKILL the server's process group (master and workers); a second call does nothing."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
