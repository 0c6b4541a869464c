"""How the settings reach `make run`'s embedded PostgreSQL (the server itself runs in
tests/e2e/test_make_run.py)."""

from paysys.ops.embedded_db import connection_settings


def test_the_socket_folder_and_port_come_from_the_running_servers_postmaster_pid(tmp_path):
    pgdata = tmp_path / "postgres"
    pgdata.mkdir()
    # Before the server ever ran: its own folder, the default port.
    assert (connection_settings(pgdata)["HOST"], connection_settings(pgdata)["PORT"]) == (str(pgdata), "5432")

    # PostgreSQL's postmaster.pid: pid, data folder, start time, port, socket folder, listen address, ...
    sockets = tmp_path / "sockets"  # where the package puts it when the data folder's path is too long
    (pgdata / "postmaster.pid").write_text(
        f"4242\n{pgdata}\n1764900000\n5433\n{sockets}\n\n  1234 5678\nready\n"
    )
    settings = connection_settings(pgdata)
    assert (settings["HOST"], settings["PORT"]) == (str(sockets), "5433")
    assert (settings["ENGINE"], settings["NAME"], settings["USER"]) == (
        "django.db.backends.postgresql",
        "paysys",
        "postgres",
    )
