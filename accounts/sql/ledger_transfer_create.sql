-- ledger_transfer_create: a transfer between two of a merchant's accounts in one call, posted by
-- ledger_post (ledger_post.sql), which holds every posting rule.
--
-- 1. both accounts are the merchant's, of the transfer's mode, of a transferable kind, in the
--    transfer's currency (ledger_transfer_account), and different;
-- 2. ledger_post posts the two lines; a reference posted already returns with txn_id NULL and
--    nothing written (the caller reads the transfer that exists);
-- 3. the transfer and its history row, the audit row (audit_append; NULL when Python writes
--    it: a row whose canonical text cannot be cut) and the outbox event (its object's account
--    ids filled in) are written.
-- Python renders every value it can (ids, timestamps, the audit row's canonical text, the event
-- payload) and turns the refusals (SQLSTATE class PT) into domain errors.

CREATE OR REPLACE FUNCTION ledger_transfer_account(
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

    txn_id := ledger_post(p_txn || jsonb_build_object('merchant_id', p_merchant), p_created,
        ARRAY[least(src.id, dst.id), greatest(src.id, dst.id)],
        CASE WHEN src.id < dst.id THEN ARRAY[-p_amount, p_amount] ELSE ARRAY[p_amount, -p_amount] END,
        ARRAY[p_currency, p_currency], ARRAY[0, 0]::numeric[], NULL, NULL, NULL, NULL, NULL);
    IF txn_id IS NULL THEN
        RETURN;
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

    IF p_audit IS NOT NULL THEN
        PERFORM audit_append(p_audit, p_audit_start, p_audit_count, p_audit_genesis, p_audit_text);
    END IF;

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
