"""A key's row is written only with its response, in the request's own transaction.

Claims left ``in_flight`` by the previous protocol committed nothing else (their runs rolled
back), so they are deleted: a retry with such a key runs afresh. ``idempotency_key_begin``
(PostgreSQL) is the protocol's first statement; see ``paysys.idempotency.services``.
"""

from django.db import migrations, models

FORWARD = r"""
CREATE FUNCTION idempotency_key_begin(
    p_merchant text, p_key text,
    OUT locked boolean, OUT fingerprint text, OUT response_status integer,
    OUT response_body bytea, OUT response_content_type text
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- A stored response is replayed without waiting for anyone.
    SELECT k.fingerprint, k.response_status, k.response_body, k.response_content_type
        INTO fingerprint, response_status, response_body, response_content_type
        FROM idempotency_idempotencykey k WHERE k.merchant = p_merchant AND k.key = p_key;
    IF FOUND THEN
        locked := false;
        RETURN;
    END IF;
    -- Held until this transaction ends: a second request with the key meanwhile is told so.
    locked := pg_try_advisory_xact_lock(hashtextextended(p_merchant || ' ' || p_key, 0));
    IF NOT locked THEN
        RETURN;
    END IF;
    -- A new snapshot: a request that committed the key just before the lock was free is seen.
    SELECT k.fingerprint, k.response_status, k.response_body, k.response_content_type
        INTO fingerprint, response_status, response_body, response_content_type
        FROM idempotency_idempotencykey k WHERE k.merchant = p_merchant AND k.key = p_key;
END
$$;
"""

REVERSE = "DROP FUNCTION IF EXISTS idempotency_key_begin(text, text);"



def _unfinished_claims_delete(apps, schema_editor):
    apps.get_model("idempotency", "IdempotencyKey").objects.filter(status="in_flight").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("idempotency", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(_unfinished_claims_delete, migrations.RunPython.noop, elidable=True),
        migrations.RemoveConstraint(
            model_name="idempotencykey", name="idempotency_idempotencykey_completed_has_response"
        ),
        migrations.RemoveConstraint(model_name="idempotencykey", name="idempotency_idempotencykey_status_valid"),
        migrations.RemoveField(model_name="idempotencykey", name="status"),
        migrations.RemoveField(model_name="idempotencykey", name="locked_until"),
        migrations.RemoveField(model_name="idempotencykey", name="completed_at"),
        migrations.AlterField(
            model_name="idempotencykey", name="response_status", field=models.PositiveSmallIntegerField()
        ),
        migrations.AlterField(model_name="idempotencykey", name="response_body", field=models.BinaryField()),
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
