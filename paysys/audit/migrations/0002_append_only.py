"""The audit log is append-only on PostgreSQL.

- ``audit_auditevent_append_only``: a row trigger rejects every UPDATE and DELETE.
- ``audit_auditevent_no_truncate`` / ``audit_auditchainhead_no_truncate``: statement triggers
  reject TRUNCATE, unless the session set ``paysys.audit_truncate_allowed = on`` (an escape
  migration 0004 removed: only the test database has one now).
- ``audit_auditchainhead_forward_only``: a chain head moves one position at a time and is never
  deleted, so a head cannot be rewound to hide deleted rows.

A database owner can still disable triggers; the hash chain (``verify_audit``) shows what such a
person changed.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE FUNCTION audit_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('paysys.audit_truncate_allowed', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: TRUNCATE of % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE FUNCTION audit_chainhead_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'an audit chain head cannot be deleted'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.chain <> OLD.chain OR NEW.seq <> OLD.seq + 1 THEN
        RAISE EXCEPTION 'audit chain % can only move forward by one (% -> %)', OLD.chain, OLD.seq, NEW.seq
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();

CREATE TRIGGER audit_auditevent_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_truncate();

CREATE TRIGGER audit_auditchainhead_no_truncate
    BEFORE TRUNCATE ON audit_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_truncate();

CREATE TRIGGER audit_auditchainhead_forward_only
    BEFORE UPDATE OR DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_chainhead_forward_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS audit_auditchainhead_forward_only ON audit_auditchainhead;
DROP TRIGGER IF EXISTS audit_auditchainhead_no_truncate ON audit_auditchainhead;
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_chainhead_forward_only();
DROP FUNCTION IF EXISTS audit_reject_truncate();
DROP FUNCTION IF EXISTS audit_reject_change();
"""



class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
