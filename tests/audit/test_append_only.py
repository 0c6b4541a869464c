"""The audit tables refuse, on PostgreSQL, every change that is not an append."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from paysys.audit.models import AuditChainHead, AuditEvent, AuditVerification
from paysys.audit.services import audit_record, audit_verify

ROOT = Path(__file__).resolve().parents[2]


def _row() -> AuditEvent:
    return audit_record(event_type="transfer.created", object_type="transfer", object_id="tr_1")


def _raw(sql: str, params=None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_raw_update_of_an_audit_row_fails():
    row = _row()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE audit_auditevent SET new_state = 'forged' WHERE id = %s", [row.pk])
    assert AuditEvent.objects.get(pk=row.pk).new_state == ""


@pytest.mark.django_db
def test_raw_delete_of_an_audit_row_fails():
    row = _row()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [row.pk])
    assert AuditEvent.objects.filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_orm_delete_of_an_audit_row_fails():
    row = _row()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).delete()


def _raw_without_escape(sql: str) -> None:
    """``sql`` in a transaction that turns the test database's TRUNCATE escape off."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('paysys.audit_truncate_allowed', 'off', true)")
        cursor.execute(sql)


@pytest.mark.django_db
def test_truncate_of_the_audit_tables_fails():
    _row()
    audit_verify()
    for table in ("audit_auditevent", "audit_auditchainhead", "audit_auditverification"):
        with pytest.raises(DatabaseError, match="TRUNCATE"):
            _raw_without_escape(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == 2
    assert AuditVerification.objects.count() == 1


@pytest.mark.django_db
def test_a_stored_verification_can_neither_be_changed_nor_deleted():
    audit_verify()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE audit_auditverification SET rows = 0")
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditverification")
    assert AuditVerification.objects.get().rows == 0


@pytest.mark.django_db
def test_a_chain_head_can_neither_be_rewound_nor_deleted():
    row = _row()
    with pytest.raises(DatabaseError, match="forward"):
        _raw("UPDATE audit_auditchainhead SET seq = 0 WHERE chain = %s", [row.chain])
    with pytest.raises(DatabaseError, match="deleted"):
        _raw("DELETE FROM audit_auditchainhead WHERE chain = %s", [row.chain])
    assert AuditChainHead.objects.get(chain=row.chain).seq == row.seq


def _admin_dsn(dbname: str) -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname=dbname, host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"]
    )


def _manage(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "PAYSYS_ENV": "test"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=100
    )


@pytest.fixture
def migrated_database():
    """A database migrated as a production one is: without the test database's escape."""
    name = f"{settings.DATABASES['default']['NAME']}_migrated"
    with psycopg.connect(_admin_dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}"
    try:
        migrated = _manage("migrate", "--noinput", url=url)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        yield url, _admin_dsn(name)
    finally:
        with psycopg.connect(_admin_dsn("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_migrated_database_refuses_to_empty_the_audit_log_and_verify_audit_sees_it_emptied(
    migrated_database,
):
    url, dsn = migrated_database
    with psycopg.connect(dsn) as conn:
        conn.execute("SET paysys.audit_truncate_allowed = on")
        for table in ("audit_auditevent", "audit_auditchainhead", "accounts_entry"):
            with pytest.raises(psycopg.errors.RestrictViolation, match="TRUNCATE"):
                conn.execute(f"TRUNCATE {table} CASCADE")
            conn.rollback()
    fresh = _manage("verify_audit", url=url)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "0 rows in 64 chains" in fresh.stdout
    # Only the tables' owner, turning the triggers off, can empty them; verify_audit says so.
    with psycopg.connect(dsn) as conn:
        conn.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        conn.execute("ALTER TABLE audit_auditchainhead DISABLE TRIGGER USER")
        conn.execute("TRUNCATE audit_auditevent, audit_auditchainhead")
    emptied = _manage("verify_audit", url=url)
    assert emptied.returncode == 1
    assert "head_missing: chain=0 seq=None" in emptied.stdout
    assert "audit log FAILED: 64 problems in 0 rows" in emptied.stderr
