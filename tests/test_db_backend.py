"""paysys.db.postgresql: the health check is skipped only for a connection that just answered."""

import time

import psycopg
import pytest
from django.db import connection, connections

from paysys.db.postgresql.base import FRESH_SECONDS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def checks(monkeypatch):
    """Count the health checks the connection runs."""
    calls = []
    real = connection.is_usable

    def counted():
        calls.append(connection.connection.info.backend_pid)
        return real()

    monkeypatch.setattr(connection, "is_usable", counted)
    return calls


def unit_of_work() -> int:
    """What a request does: Django's start hook, a query, Django's end hook; the backend's pid."""
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    connection.close_if_unusable_or_obsolete()
    return pid


def test_settings_select_the_backend():
    assert type(connections["default"]).__module__ == "paysys.db.postgresql.base"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_a_connection_that_just_answered_is_not_checked_again(checks):
    connection.close()
    unit_of_work()  # a new connection: nothing to check yet
    unit_of_work()
    unit_of_work()
    assert checks == []


def test_an_idle_connection_is_checked(checks):
    first = unit_of_work()
    connection.answered_at = time.monotonic() - FRESH_SECONDS - 0.1
    assert unit_of_work() == first
    assert checks == [first]


def test_a_connection_the_server_dropped_while_idle_is_replaced(checks):
    dropped = unit_of_work()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dropped])
    connection.answered_at = time.monotonic() - FRESH_SECONDS - 0.1
    replacement = unit_of_work()
    assert checks == [dropped]
    assert replacement != dropped


def test_a_unit_that_failed_does_not_vouch_for_the_connection(checks):
    unit_of_work()
    connection.close_if_unusable_or_obsolete()
    with pytest.raises(Exception, match="does_not_exist"), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM does_not_exist")
    before = connection.answered_at
    connection.close_if_unusable_or_obsolete()  # Django checks it itself, once
    assert connection.answered_at == before
    assert len(checks) == 1
