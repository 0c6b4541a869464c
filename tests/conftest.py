from pathlib import Path

import pytest

# The test database's escape from the append-only tables' TRUNCATE triggers, for flush.
TEST_DATABASE_SQL = Path(__file__).with_name("test_database.sql")
TRUNCATE_ALLOWED_SETTING = "paysys.audit_truncate_allowed"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The migrated test database, plus what only a test database has (tests/test_database.sql)."""
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(TEST_DATABASE_SQL.read_text())


@pytest.fixture(autouse=True)
def _ledger_verified_after_each_test(request):
    """Every test that touches the database leaves a ledger that ``verify_ledger`` accepts.

    The database fixture is taken first, so this check runs before its rollback or flush. A test
    that corrupts the ledger on purpose (to show the checks fire) is marked ``ledger_corrupted``.
    """
    uses_db = request.node.get_closest_marker("django_db") is not None or "_django_db_helper" in (
        request.fixturenames
    )
    if not uses_db or request.node.get_closest_marker("ledger_corrupted"):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    from accounts.services import ledger_verify

    result = ledger_verify()
    assert result.ok, f"the ledger is inconsistent after this test: {result.failures}"


BEAT_SCHEDULE_MIGRATIONS = (
    "paysys.ops.migrations.0001_beat_schedule",
    "paysys.ops.migrations.0002_payouts_update",
    "paysys.ops.migrations.0003_dashboard_days_refresh",
)


@pytest.fixture
def beat_schedule(db):
    """The periodic tasks the data migrations wrote. A transactional test's flush removes them from
    a reused test database, so they are written again here, as the migrations write them."""
    import importlib

    from django.apps import apps

    for name in BEAT_SCHEDULE_MIGRATIONS:
        importlib.import_module(name).schedule_create(apps, None)


@pytest.fixture
def operator_roles(db):
    """The roles' groups, as the migration writes them (a transactional test's flush removes them)."""
    from django.apps import apps

    from paysys.operators.roles import roles_sync

    roles_sync(apps)


@pytest.fixture
def otp_required(settings):
    settings.PAYSYS_ADMIN_OTP_REQUIRED = True
