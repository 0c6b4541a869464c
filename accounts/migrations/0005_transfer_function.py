"""``ledger_transfer_create``: a transfer written by one call (PostgreSQL only).

The PostgreSQL path of ``accounts.services.transfer_create``. In one call, with the rules of
``_post`` in ``accounts.services`` (see its module docstring):

1. both accounts are the merchant's, of a transferable kind, in the transfer's currency, and
   different (``ledger_transfer_account``);
2. the journal transaction is inserted ``ON CONFLICT (reference) DO NOTHING``; if the
   reference exists nothing else happens and ``txn_id`` is NULL (the caller reads what exists);
3. a source without overdraft is locked ``FOR NO KEY UPDATE``, its status and funds checked,
   and it is debited on its base; every other line (the credit, an overdraft source's debit)
   goes to one balance shard picked at random, shards in ascending account id after the lock;
4. the sharded accounts' status is read in a new statement (a committed freeze is seen), the
   entries are inserted in account id order with their ``balance_after``;
5. the transfer and its history row, the audit row (``audit_append``) and the outbox event
   (its object's account ids filled in) are written.

Refusals raise SQLSTATE class ``PT`` with the message the merchant sees and the parameter as
the HINT; ``accounts.services`` turns them into its domain errors. Python renders every value
it can (ids, timestamps, the audit row's canonical text, the event payload), so the function
holds only what needs the rows: the locks, the checks and the writes. Its statements are
planned once per connection.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION ledger_status_check(p_status text, p_account text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_status = 'frozen' THEN
        RAISE EXCEPTION 'Ledger account % is frozen.', p_account USING ERRCODE = 'PT423', HINT = 'account';
    ELSIF p_status = 'closed' THEN
        RAISE EXCEPTION 'Ledger account % is closed.', p_account USING ERRCODE = 'PT410', HINT = 'account';
    END IF;
END
$$;

CREATE FUNCTION ledger_transfer_account(
    p_merchant text, p_pk bigint, p_public text, p_param text, p_currency text, p_kinds text[]
) RETURNS accounts_ledgeraccount LANGUAGE plpgsql STABLE AS $$
DECLARE
    account accounts_ledgeraccount;
BEGIN
    IF p_pk IS NOT NULL THEN
        SELECT * INTO account FROM accounts_ledgeraccount a WHERE a.id = p_pk AND a.merchant_id = p_merchant;
    ELSE
        SELECT * INTO account FROM accounts_ledgeraccount a
            WHERE a.public_id = p_public AND a.merchant_id = p_merchant;
    END IF;
    IF account.id IS NULL OR NOT account.kind = ANY (p_kinds) THEN
        RAISE EXCEPTION 'No such account: %.', coalesce(p_pk::text, p_public)
            USING ERRCODE = 'PT404', HINT = p_param;
    END IF;
    IF account.currency <> p_currency THEN
        RAISE EXCEPTION 'Account % holds %, not %.', account.public_id, lower(account.currency), lower(p_currency)
            USING ERRCODE = 'PT409', HINT = 'currency';
    END IF;
    RETURN account;
END
$$;

CREATE FUNCTION ledger_shard_add(p_account accounts_ledgeraccount, p_amount numeric) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    pick integer := floor(random() * p_account.balance_shards)::integer;
BEGIN
    UPDATE accounts_ledgerbalanceshard SET amount = amount + p_amount
        WHERE account_id = p_account.id AND shard = pick;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No such ledger account.' USING ERRCODE = 'PT404', HINT = 'account';
    END IF;
END
$$;

CREATE FUNCTION ledger_sharded_posted(p_account accounts_ledgeraccount) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    status text;
    posted numeric;
BEGIN
    SELECT a.status, a.posted_base + coalesce((SELECT sum(s.amount) FROM accounts_ledgerbalanceshard s
        WHERE s.account_id = a.id), 0) INTO status, posted
        FROM accounts_ledgeraccount a WHERE a.id = p_account.id;
    PERFORM ledger_status_check(status, p_account.public_id);
    RETURN posted;
END
$$;

CREATE FUNCTION ledger_transfer_create(
    p_merchant text, p_from_pk bigint, p_from_public text, p_to_pk bigint, p_to_public text,
    p_amount numeric, p_currency text, p_kinds text[], p_created timestamptz,
    p_txn jsonb, p_transfer jsonb, p_history_user integer, p_history_reason text,
    p_audit jsonb, p_audit_start integer, p_audit_count integer, p_audit_genesis text, p_audit_text text[],
    p_event jsonb,
    OUT txn_id bigint, OUT transfer_id bigint, OUT event_id bigint,
    OUT from_id bigint, OUT from_public text, OUT to_id bigint, OUT to_public text
) LANGUAGE plpgsql AS $$
DECLARE
    src accounts_ledgeraccount;
    dst accounts_ledgeraccount;
    src_status text;
    src_posted numeric;
    src_pending numeric;
    src_after numeric;
    dst_after numeric;
BEGIN
    src := ledger_transfer_account(p_merchant, p_from_pk, p_from_public, 'from_account', p_currency, p_kinds);
    dst := ledger_transfer_account(p_merchant, p_to_pk, p_to_public, 'to_account', p_currency, p_kinds);
    from_id := src.id;
    from_public := src.public_id;
    to_id := dst.id;
    to_public := dst.public_id;
    IF src.id = dst.id THEN
        RAISE EXCEPTION 'A transfer needs two different accounts.' USING ERRCODE = 'PT400', HINT = 'to_account';
    END IF;

    INSERT INTO accounts_journaltransaction (public_id, kind, reference, description, metadata, merchant_id,
        reverses_id, created)
        VALUES (p_txn->>'public_id', p_txn->>'kind', p_txn->>'reference', p_txn->>'description',
            p_txn->'metadata', p_merchant, NULL, p_created)
        ON CONFLICT (reference) DO NOTHING RETURNING id INTO txn_id;
    IF txn_id IS NULL THEN
        RETURN;
    END IF;

    IF NOT src.allow_negative THEN
        SELECT a.status, a.posted_base + coalesce((SELECT sum(s.amount) FROM accounts_ledgerbalanceshard s
            WHERE s.account_id = a.id), 0), a.pending INTO src_status, src_posted, src_pending
            FROM accounts_ledgeraccount a WHERE a.id = src.id FOR NO KEY UPDATE OF a;
        PERFORM ledger_status_check(src_status, src.public_id);
        src_after := src_posted - p_amount;
        IF src_after - src_pending < 0 THEN
            RAISE EXCEPTION 'Insufficient funds in the account for this posting.'
                USING ERRCODE = 'PT402', HINT = 'amount';
        END IF;
    END IF;
    IF src.allow_negative AND src.id < dst.id THEN
        PERFORM ledger_shard_add(src, -p_amount);
    END IF;
    PERFORM ledger_shard_add(dst, p_amount);
    IF src.allow_negative AND src.id > dst.id THEN
        PERFORM ledger_shard_add(src, -p_amount);
    END IF;
    dst_after := ledger_sharded_posted(dst);
    IF src.allow_negative THEN
        src_after := ledger_sharded_posted(src);
    END IF;

    INSERT INTO accounts_entry (transaction_id, account_id, amount, currency, balance_after, created)
        SELECT txn_id, v.account_id, v.amount, p_currency, v.balance_after, p_created
        FROM (VALUES (src.id, -p_amount, src_after), (dst.id, p_amount, dst_after))
            AS v (account_id, amount, balance_after)
        ORDER BY v.account_id;
    IF NOT src.allow_negative THEN
        UPDATE accounts_ledgeraccount SET posted_base = posted_base - p_amount WHERE id = src.id;
    END IF;

    INSERT INTO accounts_transfer (public_id, merchant_id, from_account_id, to_account_id, amount, currency,
        description, metadata, status, transaction_id, reversal_transaction_id, created, updated)
        VALUES (p_transfer->>'public_id', p_merchant, src.id, dst.id, p_amount, p_currency,
            p_transfer->>'description', p_transfer->'metadata', p_transfer->>'status', txn_id, NULL,
            p_created, p_created)
        RETURNING id INTO transfer_id;
    INSERT INTO accounts_historicaltransfer (id, public_id, merchant_id, amount, currency, description,
        metadata, status, created, updated, from_account_id, to_account_id, transaction_id,
        reversal_transaction_id, history_date, history_change_reason, history_type, history_user_id)
        VALUES (transfer_id, p_transfer->>'public_id', p_merchant, p_amount, p_currency,
            p_transfer->>'description', p_transfer->'metadata', p_transfer->>'status', p_created, p_created,
            src.id, dst.id, txn_id, NULL, p_created, p_history_reason, '+', p_history_user);

    PERFORM audit_append(p_audit, p_audit_start, p_audit_count, p_audit_genesis, p_audit_text);

    INSERT INTO events_event (public_id, type, merchant_id, object_type, object_id, data, livemode,
        correlation_id, created)
        VALUES (p_event->>'public_id', p_event->>'type', p_merchant, p_event->>'object_type',
            p_event->>'object_id',
            jsonb_set(jsonb_set(p_event->'data', '{object,from_account}', to_jsonb(src.public_id)),
                '{object,to_account}', to_jsonb(dst.public_id)),
            (p_event->>'livemode')::boolean, p_event->>'correlation_id', p_created)
        RETURNING id INTO event_id;
END
$$;
"""

REVERSE = """
DROP FUNCTION IF EXISTS ledger_transfer_create(text, bigint, text, bigint, text, numeric, text, text[],
    timestamptz, jsonb, jsonb, integer, text, jsonb, integer, integer, text, text[], jsonb);
DROP FUNCTION IF EXISTS ledger_sharded_posted(accounts_ledgeraccount);
DROP FUNCTION IF EXISTS ledger_shard_add(accounts_ledgeraccount, numeric);
DROP FUNCTION IF EXISTS ledger_transfer_account(text, bigint, text, text, text, text[]);
DROP FUNCTION IF EXISTS ledger_status_check(text, text);
"""



class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_lean_indexes"),
        ("audit", "0003_append_function"),
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
