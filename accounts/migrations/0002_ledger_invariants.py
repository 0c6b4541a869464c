"""The ledger's rules that the database enforces on PostgreSQL.

- ``accounts_entry_balanced``: a DEFERRABLE INITIALLY DEFERRED constraint trigger; at commit it
  rejects a journal transaction whose entries do not sum to zero per currency, or an entry
  whose currency is not its account's.
- ``accounts_entry_append_only`` / ``accounts_journaltransaction_append_only``: row triggers
  reject UPDATE and DELETE of entries and journal transactions (a mistake is undone by a
  reversal, never by an edit).
- ``accounts_entry_no_truncate`` / ``accounts_journaltransaction_no_truncate``: statement
  triggers reject TRUNCATE unless the session set ``paysys.audit_truncate_allowed = on`` (an
  escape migration 0006 removed: only the test database has one now).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION accounts_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT e.currency, SUM(e.amount) AS total INTO unbalanced
      FROM accounts_entry e
     WHERE e.transaction_id = NEW.transaction_id
     GROUP BY e.currency
    HAVING SUM(e.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal transaction % does not balance: % % left over',
            NEW.transaction_id, unbalanced.total, unbalanced.currency
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_entry_balanced';
    END IF;
    IF EXISTS (SELECT 1 FROM accounts_ledgeraccount a WHERE a.id = NEW.account_id AND a.currency <> NEW.currency) THEN
        RAISE EXCEPTION 'entry % is in % but its account % is not', NEW.id, NEW.currency, NEW.account_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_entry_currency_matches_account';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER accounts_entry_balanced
    AFTER INSERT ON accounts_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION accounts_entry_check_balanced();

CREATE FUNCTION accounts_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE FUNCTION accounts_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('paysys.audit_truncate_allowed', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the ledger is append-only: TRUNCATE of % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER accounts_entry_append_only
    BEFORE UPDATE OR DELETE ON accounts_entry
    FOR EACH ROW EXECUTE FUNCTION accounts_reject_change();

CREATE TRIGGER accounts_journaltransaction_append_only
    BEFORE UPDATE OR DELETE ON accounts_journaltransaction
    FOR EACH ROW EXECUTE FUNCTION accounts_reject_change();

CREATE TRIGGER accounts_entry_no_truncate
    BEFORE TRUNCATE ON accounts_entry
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_reject_truncate();

CREATE TRIGGER accounts_journaltransaction_no_truncate
    BEFORE TRUNCATE ON accounts_journaltransaction
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_reject_truncate();
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounts_journaltransaction_no_truncate ON accounts_journaltransaction;
DROP TRIGGER IF EXISTS accounts_entry_no_truncate ON accounts_entry;
DROP TRIGGER IF EXISTS accounts_journaltransaction_append_only ON accounts_journaltransaction;
DROP TRIGGER IF EXISTS accounts_entry_append_only ON accounts_entry;
DROP TRIGGER IF EXISTS accounts_entry_balanced ON accounts_entry;
DROP FUNCTION IF EXISTS accounts_reject_truncate();
DROP FUNCTION IF EXISTS accounts_reject_change();
DROP FUNCTION IF EXISTS accounts_entry_check_balanced();
"""



class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
