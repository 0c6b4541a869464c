"""``audit_append``: one audit row appended to a hash chain by the database (PostgreSQL only).

The function is ``paysys.audit.services``'s PostgreSQL path, and the ledger's transfer function
calls it too. It takes the row as JSON (every column but the chain fields and the hash), where
to start looking for a free stripe, and the row's canonical text (``paysys.audit.chain``) in four
pieces around its chain, prev_hash and seq, which Python renders. It then:

1. locks the first chain head from ``p_start`` on, round to the start, that no other
   transaction holds (``FOR UPDATE SKIP LOCKED``, two walks of the primary key); with every stripe held it waits for ``p_start``'s; with no head
   rows yet (a fresh or flushed database) it creates them first;
2. inserts the row with the head's ``seq + 1`` and hash as ``prev_hash``, its own hash being
   SHA-256 over the version line and the canonical text completed with those values;
3. moves the head, and returns the row's id, chain, seq, prev_hash and hash.

A PL/pgSQL function keeps its plans for the session: the statement is parsed and planned once
per connection, not once per row.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION audit_append(
    p_row jsonb, p_start integer, p_count integer, p_genesis text, p_text text[],
    OUT audit_id bigint, OUT audit_chain integer, OUT audit_seq bigint,
    OUT audit_prev_hash text, OUT audit_hash text
) LANGUAGE plpgsql AS $$
DECLARE
    r audit_auditevent := jsonb_populate_record(NULL::audit_auditevent, p_row);
    head record;
BEGIN
    SELECT h.chain, h.seq, h.hash INTO head FROM audit_auditchainhead h
        WHERE h.chain >= p_start ORDER BY h.chain LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        SELECT h.chain, h.seq, h.hash INTO head FROM audit_auditchainhead h
            WHERE h.chain < p_start ORDER BY h.chain LIMIT 1 FOR UPDATE SKIP LOCKED;
    END IF;
    IF NOT FOUND THEN
        INSERT INTO audit_auditchainhead (chain, seq, hash)
            SELECT c, 0, p_genesis FROM generate_series(0, p_count - 1) AS c
            ON CONFLICT (chain) DO NOTHING;
        SELECT h.chain, h.seq, h.hash INTO head FROM audit_auditchainhead h
            WHERE h.chain = p_start FOR UPDATE;
    END IF;
    audit_chain := head.chain;
    audit_seq := head.seq + 1;
    audit_prev_hash := head.hash;
    audit_hash := encode(sha256(convert_to(
        p_text[1] || head.chain::text || p_text[2] || '"' || head.hash || '"' || p_text[3]
        || audit_seq::text || p_text[4], 'UTF8')), 'hex');
    INSERT INTO audit_auditevent (
        event_id, correlation_id, idempotency_key, event_type, previous_state, new_state,
        actor_type, actor_id, object_type, object_id, amount, currency, merchant_id, ip_address,
        reason_code, metadata, created, chain, seq, prev_hash, hash
    ) VALUES (
        r.event_id, r.correlation_id, r.idempotency_key, r.event_type, r.previous_state, r.new_state,
        r.actor_type, r.actor_id, r.object_type, r.object_id, r.amount, r.currency, r.merchant_id,
        r.ip_address, r.reason_code, r.metadata, r.created, audit_chain, audit_seq, audit_prev_hash,
        audit_hash
    ) RETURNING id INTO audit_id;
    UPDATE audit_auditchainhead SET seq = audit_seq, hash = audit_hash WHERE chain = audit_chain;
END
$$;
"""

REVERSE = "DROP FUNCTION IF EXISTS audit_append(jsonb, integer, integer, text, text[]);"



class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only"),
    ]

    operations = [
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
