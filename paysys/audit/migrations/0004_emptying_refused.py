"""The audit log cannot be emptied, and its verifications are kept.

- ``audit_reject_truncate`` rejects every TRUNCATE: the ``paysys.audit_truncate_allowed``
  session setting that let one through is gone. The test suite, which must empty tables
  between tests, installs its own escape in the test database only (tests/conftest.py).
- ``AuditVerification``: the row count each nightly verification walked; append-only like
  the log (UPDATE, DELETE and TRUNCATE rejected), so ``verify_audit`` can tell a log that
  shrank.
"""

import django.utils.timezone
from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION audit_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: TRUNCATE of % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER audit_auditverification_append_only
    BEFORE UPDATE OR DELETE ON audit_auditverification
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();

CREATE TRIGGER audit_auditverification_no_truncate
    BEFORE TRUNCATE ON audit_auditverification
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_truncate();
"""

REVERSE = """
DROP TRIGGER IF EXISTS audit_auditverification_no_truncate ON audit_auditverification;
DROP TRIGGER IF EXISTS audit_auditverification_append_only ON audit_auditverification;

CREATE OR REPLACE FUNCTION audit_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('paysys.audit_truncate_allowed', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: TRUNCATE of % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""



class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_function"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditVerification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("ok", models.BooleanField()),
                ("rows", models.PositiveBigIntegerField()),
                ("chains", models.PositiveSmallIntegerField()),
                ("heads_digest", models.CharField(max_length=64)),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
