-- Run on the test database only, after it is migrated (tests/conftest.py, django_db_setup).
--
-- Django's flush, which ends every transactional test, truncates every table, and the audit
-- log's and the ledger's tables reject TRUNCATE. Here, and only here, they let one through when
-- the session's paysys.audit_truncate_allowed is on, which it is by default in every session of
-- the test database. A test showing a TRUNCATE refused turns it off for its transaction.
-- Migrated databases have no escape at all (migrations audit.0004 and accounts.0006).

CREATE OR REPLACE FUNCTION audit_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('paysys.audit_truncate_allowed', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: TRUNCATE of % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE OR REPLACE FUNCTION accounts_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('paysys.audit_truncate_allowed', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the ledger is append-only: TRUNCATE of % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET paysys.audit_truncate_allowed = on', current_database());
END
$$;

SET paysys.audit_truncate_allowed = on;
