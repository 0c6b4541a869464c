"""Idempotency keys are scoped per merchant and mode: a test key and a live key of one merchant
never replay each other's responses. Stored keys are test keys (only the simulator existed).

``idempotency_key_begin`` takes the mode; the advisory lock's key includes it.
"""

from django.db import migrations, models

FORWARD = r"""
DROP FUNCTION IF EXISTS idempotency_key_begin(text, text);
CREATE FUNCTION idempotency_key_begin(
    p_merchant text, p_livemode boolean, p_key text,
    OUT locked boolean, OUT fingerprint text, OUT response_status integer,
    OUT response_body bytea, OUT response_content_type text
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- A stored response is replayed without waiting for anyone.
    SELECT k.fingerprint, k.response_status, k.response_body, k.response_content_type
        INTO fingerprint, response_status, response_body, response_content_type
        FROM idempotency_idempotencykey k
        WHERE k.merchant = p_merchant AND k.livemode = p_livemode AND k.key = p_key;
    IF FOUND THEN
        locked := false;
        RETURN;
    END IF;
    -- Held until this transaction ends: a second request with the key meanwhile is told so.
    locked := pg_try_advisory_xact_lock(
        hashtextextended(p_merchant || ' ' || p_livemode::text || ' ' || p_key, 0));
    IF NOT locked THEN
        RETURN;
    END IF;
    -- A new snapshot: a request that committed the key just before the lock was free is seen.
    SELECT k.fingerprint, k.response_status, k.response_body, k.response_content_type
        INTO fingerprint, response_status, response_body, response_content_type
        FROM idempotency_idempotencykey k
        WHERE k.merchant = p_merchant AND k.livemode = p_livemode AND k.key = p_key;
END
$$;
"""

REVERSE = r"""
DROP FUNCTION IF EXISTS idempotency_key_begin(text, boolean, text);
CREATE FUNCTION idempotency_key_begin(
    p_merchant text, p_key text,
    OUT locked boolean, OUT fingerprint text, OUT response_status integer,
    OUT response_body bytea, OUT response_content_type text
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    SELECT k.fingerprint, k.response_status, k.response_body, k.response_content_type
        INTO fingerprint, response_status, response_body, response_content_type
        FROM idempotency_idempotencykey k WHERE k.merchant = p_merchant AND k.key = p_key;
    IF FOUND THEN
        locked := false;
        RETURN;
    END IF;
    locked := pg_try_advisory_xact_lock(hashtextextended(p_merchant || ' ' || p_key, 0));
    IF NOT locked THEN
        RETURN;
    END IF;
    SELECT k.fingerprint, k.response_status, k.response_body, k.response_content_type
        INTO fingerprint, response_status, response_body, response_content_type
        FROM idempotency_idempotencykey k WHERE k.merchant = p_merchant AND k.key = p_key;
END
$$;
"""



class Migration(migrations.Migration):
    dependencies = [
        ("idempotency", "0003_responses_encrypted"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="livemode",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RemoveConstraint(
            model_name="idempotencykey", name="idempotency_idempotencykey_merchant_key_unique"
        ),
        migrations.AddConstraint(
            model_name="idempotencykey",
            constraint=models.UniqueConstraint(
                fields=("merchant", "livemode", "key"),
                name="idempotency_idempotencykey_merchant_mode_key_unique",
            ),
        ),
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
