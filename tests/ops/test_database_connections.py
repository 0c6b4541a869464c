"""Connections: Django's PostgreSQL engine, kept between requests and health-checked before reuse."""

import psycopg
import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db(transaction=True)


def unit_of_work() -> int:
    """What a request does: Django's start hook, a query, Django's end hook; the backend's pid."""
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    connection.close_if_unusable_or_obsolete()
    return pid


def test_settings_select_djangos_engine_with_health_checks():
    assert type(connections["default"]).__module__ == "django.db.backends.postgresql.base"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert connection.settings_dict["CONN_MAX_AGE"] > 0


def test_a_connection_is_kept_between_units_of_work():
    assert unit_of_work() == unit_of_work()


def test_a_connection_the_server_dropped_while_idle_is_replaced_without_an_error():
    dropped = unit_of_work()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dropped])
    assert unit_of_work() != dropped
