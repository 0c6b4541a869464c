"""An account that may go negative and is not the platform's never funds an account a merchant
owns (``accounts.models.overdraft_is_credit``): ``ledger_transfer_create`` refuses such a
transfer (SQLSTATE ``PT4OD``, HINT ``from_account``) before it writes anything, as ``_post``
does in Python. The function is the one of migration 0008 (0005's, with the mode check) with ``ledger_overdraft_funding_check``
called after the accounts are read; going back re-applies 0008 (its reverse, then its forward).

Overdraft on a merchant-owned account is an operator's decision (``account_overdraft_set``),
under the ``set_overdraft`` permission added here.
"""

import importlib

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION ledger_overdraft_funding_check(p_source accounts_ledgeraccount, p_destination accounts_ledgeraccount)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_source.allow_negative AND p_source.owner_type <> 'platform' AND p_destination.owner_type <> 'platform' THEN
        RAISE EXCEPTION 'An account that may go negative cannot fund an account a merchant owns; fund it with a top-up, a payment or a transfer from a funded account.'
            USING ERRCODE = 'PT4OD', HINT = 'from_account';
    END IF;
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
    PERFORM ledger_overdraft_funding_check(src, dst);

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

DROP_CHECK = "DROP FUNCTION IF EXISTS ledger_overdraft_funding_check(accounts_ledgeraccount, accounts_ledgeraccount);"


def _forward(apps, schema_editor):
    schema_editor.execute(FORWARD, params=None)


def _reverse(apps, schema_editor):
    previous = importlib.import_module("accounts.migrations.0008_transfer_mode")
    schema_editor.execute(previous.REVERSE, params=None)
    schema_editor.execute(previous.FORWARD, params=None)
    schema_editor.execute(DROP_CHECK, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_transfer_mode"),
    ]

    operations = [
        migrations.RunPython(_forward, _reverse, elidable=False),
        migrations.AlterModelOptions(
            name="ledgeraccount",
            options={
                "ordering": ["-id"],
                "permissions": [("set_overdraft", "Can allow or withdraw a merchant-owned account's overdraft")],
            },
        ),
    ]
