"""Transfers stay in one mode: ``ledger_transfer_account`` finds only the merchant's accounts of
the transfer's mode (the calling key's, which ``accounts.services`` puts in the event argument),
so an account of the other mode is refused exactly like an unknown one, before its currency is
looked at. ``ledger_transfer_create`` is restated with that one change (its signature is
unchanged); the rest of its body is migration 0005's.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION ledger_transfer_account(
    p_merchant text, p_livemode boolean, p_pk bigint, p_public text, p_param text, p_currency text, p_kinds text[]
) RETURNS accounts_ledgeraccount LANGUAGE plpgsql STABLE AS $$
DECLARE
    account accounts_ledgeraccount;
BEGIN
    -- Another merchant's account and one of the other mode are as unknown as a missing one.
    IF p_pk IS NOT NULL THEN
        SELECT * INTO account FROM accounts_ledgeraccount a
            WHERE a.id = p_pk AND a.merchant_id = p_merchant AND a.livemode = p_livemode;
    ELSE
        SELECT * INTO account FROM accounts_ledgeraccount a
            WHERE a.public_id = p_public AND a.merchant_id = p_merchant AND a.livemode = p_livemode;
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

CREATE OR REPLACE FUNCTION ledger_transfer_create(
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
    -- The transfer's mode is the calling key's, carried by its event.
    src := ledger_transfer_account(p_merchant, (p_event->>'livemode')::boolean, p_from_pk, p_from_public,
        'from_account', p_currency, p_kinds);
    dst := ledger_transfer_account(p_merchant, (p_event->>'livemode')::boolean, p_to_pk, p_to_public,
        'to_account', p_currency, p_kinds);
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

DROP FUNCTION ledger_transfer_account(text, bigint, text, text, text, text[]);
"""

REVERSE = r"""
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

CREATE OR REPLACE FUNCTION ledger_transfer_create(
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

DROP FUNCTION ledger_transfer_account(text, boolean, bigint, text, text, text, text[]);
"""



class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_livemode"),
    ]

    operations = [
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
