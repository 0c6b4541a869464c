"""A key's row may be committed before its response, as the recovery point of a request that
calls the processor; such a request holds the key's lock at session level, across its commits,
until it ends or its process dies. See ``paysys.idempotency.services``.
"""

from importlib import import_module

from django.db import migrations, models

FORWARD = r"""
CREATE FUNCTION idempotency_key_lock_id(p_merchant text, p_livemode boolean, p_key text) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$
    SELECT hashtextextended(p_merchant || ' ' || p_livemode::text || ' ' || p_key, 0) $$;

DROP FUNCTION IF EXISTS idempotency_key_begin(text, boolean, text);
CREATE FUNCTION idempotency_key_begin(
    p_merchant text, p_livemode boolean, p_key text,
    OUT locked boolean, OUT fingerprint text, OUT response_status integer,
    OUT response_body bytea, OUT response_content_type text, OUT recovery_point text
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- A stored response is replayed (or another body refused) without waiting for anyone.
    SELECT k.fingerprint, k.response_status, k.response_body, k.response_content_type, k.recovery_point
        INTO fingerprint, response_status, response_body, response_content_type, recovery_point
        FROM idempotency_idempotencykey k
        WHERE k.merchant = p_merchant AND k.livemode = p_livemode AND k.key = p_key;
    IF FOUND AND response_status IS NOT NULL THEN
        locked := false;
        RETURN;
    END IF;
    -- Held until this transaction ends; a request that commits a checkpoint takes the same
    -- lock at session level first, so it stays held across its commits and dies with the
    -- session. A second request meanwhile is told the key is in use.
    locked := pg_try_advisory_xact_lock(idempotency_key_lock_id(p_merchant, p_livemode, p_key));
    IF NOT locked THEN
        RETURN;
    END IF;
    -- A new snapshot: what a request that held the lock until just now committed is seen.
    SELECT k.fingerprint, k.response_status, k.response_body, k.response_content_type, k.recovery_point
        INTO fingerprint, response_status, response_body, response_content_type, recovery_point
        FROM idempotency_idempotencykey k
        WHERE k.merchant = p_merchant AND k.livemode = p_livemode AND k.key = p_key;
END
$$;
"""

# Back to 0004's function (per mode), transaction-level lock only.
_previous = import_module("paysys.idempotency.migrations.0004_livemode")
REVERSE = (
    "DROP FUNCTION IF EXISTS idempotency_key_begin(text, boolean, text);\n"
    "DROP FUNCTION IF EXISTS idempotency_key_lock_id(text, boolean, text);\n" + _previous.FORWARD
)


def _unfinished_delete(apps, schema_editor):
    apps.get_model("idempotency", "IdempotencyKey").objects.filter(response_status__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("idempotency", "0004_livemode"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="recovery_point",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.AlterField(
            model_name="idempotencykey",
            name="response_status",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="idempotencykey", name="response_body", field=models.BinaryField(blank=True, null=True)
        ),
        migrations.AddConstraint(
            model_name="idempotencykey",
            constraint=models.CheckConstraint(
                condition=models.Q(("response_body__isnull", True), ("response_status__isnull", True))
                | models.Q(("response_body__isnull", False), ("response_status__isnull", False)),
                name="idempotency_idempotencykey_response_whole",
            ),
        ),
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
        # Reversing: rows without a response cannot exist in the older shape.
        migrations.RunPython(migrations.RunPython.noop, _unfinished_delete, elidable=True),
    ]
