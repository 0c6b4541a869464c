"""The ledger's tables reject every TRUNCATE (the session setting that let one through is gone).

As the audit log (migration ``audit.0004_emptying_refused``): only the test suite, which must
empty tables between tests, installs an escape, in the test database (tests/conftest.py).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION accounts_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: TRUNCATE of % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""

REVERSE = """
CREATE OR REPLACE FUNCTION accounts_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('paysys.audit_truncate_allowed', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the ledger is append-only: TRUNCATE of % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""



class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_transfer_function"),
    ]

    operations = [
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
