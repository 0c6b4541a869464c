"""The audit tables refuse, on PostgreSQL, every change that is not an append."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from paysys.audit.models import AuditChainHead, AuditEvent
from paysys.audit.services import audit_record


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


@pytest.mark.django_db
def test_truncate_of_the_audit_table_fails():
    _row()
    with pytest.raises(DatabaseError, match="TRUNCATE"):
        _raw("TRUNCATE audit_auditevent")
    with pytest.raises(DatabaseError, match="TRUNCATE"):
        _raw("TRUNCATE audit_auditchainhead CASCADE")
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_chain_head_can_neither_be_rewound_nor_deleted():
    row = _row()
    with pytest.raises(DatabaseError, match="forward"):
        _raw("UPDATE audit_auditchainhead SET seq = 0 WHERE chain = %s", [row.chain])
    with pytest.raises(DatabaseError, match="deleted"):
        _raw("DELETE FROM audit_auditchainhead WHERE chain = %s", [row.chain])
    assert AuditChainHead.objects.get(chain=row.chain).seq == row.seq


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_audit_log_outside_production():
    _row()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    assert not AuditChainHead.objects.exists()
    # The escape is scoped to the flush: the session refuses TRUNCATE again afterwards.
    _row()
    with pytest.raises(DatabaseError, match="TRUNCATE"):
        _raw("TRUNCATE audit_auditevent")


@pytest.mark.django_db(transaction=True)
def test_flush_is_refused_by_the_audit_log_in_production(settings):
    row = _row()
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.filter(pk=row.pk).exists()
