-- ledger_post: the ledger's one posting function. Every change of an account's balances goes
-- through it: postings (journal transaction and entries), and the held amount of holds.
--
-- Arguments: the journal transaction as JSON (public_id, kind, reference, description, metadata,
-- merchant_id, reverses_id), or NULL for a change of held amounts only (a hold placed, released
-- or expired); its time; one element per account, in ascending account id, each account once:
-- the net amount (signed: + credits the holder), the lines' currency and the change of the held
-- amount; the audit row for audit_append, or NULL (the caller writes its own).
--
-- Returns the journal transaction's id, or NULL when p_txn is NULL or its reference was posted
-- already (nothing is written then; the caller reads what exists).
--
-- Rules, in the order they run:
-- 1. every account exists and is in its lines' currency; an account that may go negative and is
--    not the platform's never funds an account a merchant owns (overdraft_not_transferable).
--    The accounts are read one statement each, in ascending id: debited accounts without
--    overdraft and accounts whose held amount changes with their lock (FOR NO KEY UPDATE, so
--    the lock order is ascending id), every other account without one;
-- 2. the journal transaction is inserted ON CONFLICT (reference) DO NOTHING (a reference posted
--    already returns before any status or funds check, as a replay must);
-- 3. the locked accounts' status is checked, and a debit (or a larger held amount) must leave
--    posted - pending >= 0 unless the account may go negative, as read under the lock;
-- 4. every other line (credits, debits of overdraft accounts) goes to one balance shard picked
--    at random, shards in ascending account id after every account lock; after its shard, a new
--    statement reads the account's status, so a freeze that committed meanwhile is seen;
-- 5. the entries are inserted in one statement (the trigger accounts_entry_one_mode refuses a
--    transaction mixing test and live accounts) with the posted balance after each line, and the
--    locked accounts' base and held amounts are updated;
-- 6. the audit row is appended.
-- Every statement is keyed by one account id (no "= ANY (array)"): PostgreSQL prepares a plan
-- keyed by an array anew for each call, which cost a transfer more than its statements did.
-- Refusals raise SQLSTATE class PT with the message the merchant sees and the parameter as HINT
-- (accounts/ledger_sql.py maps them to the domain errors).

CREATE OR REPLACE FUNCTION ledger_status_check(p_status text, p_account text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_status = 'frozen' THEN
        RAISE EXCEPTION 'Ledger account % is frozen.', p_account USING ERRCODE = 'PT423', HINT = 'account';
    ELSIF p_status = 'closed' THEN
        RAISE EXCEPTION 'Ledger account % is closed.', p_account USING ERRCODE = 'PT410', HINT = 'account';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION ledger_post(
    p_txn jsonb, p_created timestamptz,
    p_accounts bigint[], p_amounts numeric[], p_currencies text[], p_pending numeric[],
    p_audit jsonb, p_audit_start integer, p_audit_count integer, p_audit_genesis text, p_audit_text text[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n integer := cardinality(p_accounts);
    i integer;
    missing boolean := false;
    funds_from_overdraft boolean := false;
    credits_merchant boolean := false;
    locked boolean[] := array_fill(false, ARRAY[n]);
    publics text[] := array_fill(NULL::text, ARRAY[n]);
    shards integer[] := array_fill(0, ARRAY[n]);
    statuses text[] := array_fill(NULL::text, ARRAY[n]);
    overdraft boolean[] := array_fill(false, ARRAY[n]);
    pendings numeric[] := array_fill(NULL::numeric, ARRAY[n]);
    posted_after numeric[] := array_fill(NULL::numeric, ARRAY[n]);
    a_public text;
    a_currency text;
    a_allow_negative boolean;
    a_owner text;
    a_shards integer;
    a_status text;
    a_pending numeric;
    a_posted numeric;
    pick integer;
    txn_id bigint;
BEGIN
    -- 1. Each account in ascending id, read with its lock if it is debited without overdraft or
    --    its held amount changes, else without (currency, owner and overdraft never change).
    --    One statement per account: a scalar key lets the plan be prepared once per connection.
    FOR i IN 1 .. n LOOP
        IF p_amounts[i] < 0 OR p_pending[i] <> 0 THEN
            SELECT a.public_id, a.currency, a.allow_negative, a.owner_type, a.balance_shards, a.status, a.pending,
                    a.posted_base + coalesce((SELECT sum(s.amount) FROM accounts_ledgerbalanceshard s
                        WHERE s.account_id = a.id), 0)
                INTO a_public, a_currency, a_allow_negative, a_owner, a_shards, a_status, a_pending, a_posted
                FROM accounts_ledgeraccount a
                WHERE a.id = p_accounts[i] AND (NOT a.allow_negative OR p_pending[i] <> 0)
                FOR NO KEY UPDATE OF a;
            locked[i] := FOUND;
        END IF;
        IF NOT locked[i] THEN
            SELECT a.public_id, a.currency, a.allow_negative, a.owner_type, a.balance_shards
                INTO a_public, a_currency, a_allow_negative, a_owner, a_shards
                FROM accounts_ledgeraccount a WHERE a.id = p_accounts[i];
            IF NOT FOUND THEN
                missing := true;
                CONTINUE;
            END IF;
        END IF;
        IF a_currency <> p_currencies[i] THEN
            RAISE EXCEPTION 'Account % holds %, not %.', a_public, a_currency, p_currencies[i]
                USING ERRCODE = 'PT409', HINT = 'currency';
        END IF;
        publics[i] := a_public;
        shards[i] := a_shards;
        IF p_amounts[i] < 0 AND a_allow_negative AND a_owner <> 'platform' THEN
            funds_from_overdraft := true;
        ELSIF p_amounts[i] > 0 AND a_owner <> 'platform' THEN
            credits_merchant := true;
        END IF;
        IF locked[i] THEN
            statuses[i] := a_status;
            overdraft[i] := a_allow_negative;
            pendings[i] := a_pending;
            posted_after[i] := a_posted;
        END IF;
    END LOOP;
    IF missing THEN
        RAISE EXCEPTION 'No such ledger account.' USING ERRCODE = 'PT404', HINT = 'account';
    END IF;
    IF funds_from_overdraft AND credits_merchant THEN
        RAISE EXCEPTION 'An account that may go negative cannot fund an account a merchant owns; fund it with a top-up, a payment or a transfer from a funded account.'
            USING ERRCODE = 'PT4OD', HINT = 'from_account';
    END IF;

    -- 2. The journal transaction: a reference posts once.
    IF p_txn IS NOT NULL THEN
        INSERT INTO accounts_journaltransaction (public_id, kind, reference, description, metadata,
            merchant_id, reverses_id, created)
            VALUES (p_txn->>'public_id', p_txn->>'kind', p_txn->>'reference', p_txn->>'description',
                p_txn->'metadata', p_txn->>'merchant_id', (p_txn->>'reverses_id')::bigint, p_created)
            ON CONFLICT (reference) DO NOTHING RETURNING id INTO txn_id;
        IF txn_id IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;

    -- 3. The locked accounts' status and funds, as read under their locks.
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN NOT locked[i];
        -- Held funds given back move no money: a frozen account may have its holds released.
        IF statuses[i] <> 'open' AND (p_amounts[i] <> 0 OR p_pending[i] > 0) THEN
            PERFORM ledger_status_check(statuses[i], publics[i]);
        END IF;
        posted_after[i] := posted_after[i] + p_amounts[i];
        IF NOT overdraft[i] AND (p_amounts[i] < 0 OR p_pending[i] > 0)
                AND posted_after[i] - (pendings[i] + p_pending[i]) < 0 THEN
            IF p_amounts[i] < 0 THEN
                RAISE EXCEPTION 'Insufficient funds in the account for this posting.'
                    USING ERRCODE = 'PT402', HINT = 'amount';
            END IF;
            RAISE EXCEPTION 'Insufficient available funds for this hold.' USING ERRCODE = 'PT402', HINT = 'amount';
        END IF;
    END LOOP;

    -- 4. Every other line onto one random shard of its account, in ascending account id, and
    --    then, in a new statement, that account's status (a freeze that committed meanwhile is seen).
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN locked[i] OR p_amounts[i] = 0;
        -- Picked once: random() in the WHERE clause would be drawn again for every row.
        pick := floor(random() * shards[i])::integer;
        UPDATE accounts_ledgerbalanceshard SET amount = amount + p_amounts[i]
            WHERE account_id = p_accounts[i] AND shard = pick;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'No such ledger account.' USING ERRCODE = 'PT404', HINT = 'account';
        END IF;
        SELECT a.status, a.posted_base + coalesce((SELECT sum(s.amount) FROM accounts_ledgerbalanceshard s
                WHERE s.account_id = a.id), 0)
            INTO a_status, a_posted
            FROM accounts_ledgeraccount a WHERE a.id = p_accounts[i];
        IF a_status <> 'open' THEN
            PERFORM ledger_status_check(a_status, publics[i]);
        END IF;
        posted_after[i] := a_posted;
    END LOOP;

    -- 5. Entries (one statement), then the locked accounts.
    IF txn_id IS NOT NULL THEN
        INSERT INTO accounts_entry (transaction_id, account_id, amount, currency, balance_after, created)
            SELECT txn_id, v.account_id, v.amount, v.currency, v.balance_after, p_created
            FROM unnest(p_accounts, p_amounts, p_currencies, posted_after)
                AS v (account_id, amount, currency, balance_after)
            WHERE v.amount <> 0 ORDER BY v.account_id;
    END IF;
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN NOT locked[i] OR (p_amounts[i] = 0 AND p_pending[i] = 0);
        UPDATE accounts_ledgeraccount SET posted_base = posted_base + p_amounts[i], pending = pending + p_pending[i]
            WHERE id = p_accounts[i];
    END LOOP;

    -- 6. The audit row.
    IF p_audit IS NOT NULL THEN
        PERFORM audit_append(p_audit, p_audit_start, p_audit_count, p_audit_genesis, p_audit_text);
    END IF;
    RETURN txn_id;
END
$$;
