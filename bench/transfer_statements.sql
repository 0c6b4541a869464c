-- The statements one accounts.services.transfer_create sends, as a pgbench script: bench/ledger.py
-- fills in the merchant and wallet placeholders and runs it against the benchmark database.
-- It is the transfer with no Python at all, sent one statement at a time at the speed of
-- pgbench's C client: the most a client that sends these statements could reach here. The
-- values differ (random ids, a stand-in for the audit hash); the statements, tables, locks,
-- constraints and triggers are the service's own. tests/accounts/test_bench_statements.py
-- checks that the service still sends statements of the same shape in the same order.
\set offset random(0, ${wallets} - 2)
\set source ${first_wallet} + :offset
\set destination ${first_wallet} + :offset + 1
\set shard random(0, 65535)
\set chain random(0, 63)
BEGIN;
-- _transfer_accounts: the two accounts' immutable columns
SELECT id, public_id, merchant_id, kind, currency FROM accounts_ledgeraccount WHERE merchant_id = '${merchant}' AND id IN (:source, :destination) ORDER BY id DESC;
-- _post: the journal transaction, and the debited account locked
WITH t AS (INSERT INTO accounts_journaltransaction (public_id, kind, reference, description, metadata, merchant_id, reverses_id, created) VALUES ('txn_' || left(md5(random()::text), 24), 'transfer', 'transfer:tr_' || md5(random()::text), '', '{"transfer": "tr_0000000000000000000000"}'::jsonb, '${merchant}', NULL, now()) ON CONFLICT (reference) DO NOTHING RETURNING id), l AS (SELECT a.id, a.public_id, a.currency, a.status, a.allow_negative, a.posted_base, a.pending, COALESCE((SELECT SUM(s.amount) FROM accounts_ledgerbalanceshard s WHERE s.account_id = a.id), 0) FROM accounts_ledgeraccount a WHERE a.id = ANY(ARRAY[:source]) AND (NOT a.allow_negative OR a.id = ANY('{}')) ORDER BY a.id FOR NO KEY UPDATE OF a) SELECT (SELECT id FROM t) AS txn, l.* FROM l \gset
-- _post: the credit onto one balance shard
UPDATE accounts_ledgerbalanceshard SET amount = amount + 1.000 WHERE account_id = :destination AND shard = (SELECT :shard % a.balance_shards FROM accounts_ledgeraccount a WHERE a.id = :destination) RETURNING amount;
-- _post: the sharded account read, the entries, the debit
WITH r AS (SELECT a.id, a.public_id, a.currency, a.status, a.posted_base + COALESCE((SELECT SUM(s.amount) FROM accounts_ledgerbalanceshard s WHERE s.account_id = a.id), 0) AS posted FROM accounts_ledgeraccount a WHERE a.id = ANY(ARRAY[:destination])), v (transaction_id, account_id, amount, currency, balance_after, created) AS (VALUES (:txn::bigint, :source::bigint, -1.000::numeric, 'EUR'::varchar, 999999.000::numeric, now()), (:txn::bigint, :destination::bigint, 1.000::numeric, 'EUR'::varchar, NULL::numeric, now())), e AS (INSERT INTO accounts_entry (transaction_id, account_id, amount, currency, balance_after, created) SELECT v.transaction_id, v.account_id, v.amount, v.currency, COALESCE(v.balance_after, r.posted), v.created FROM v LEFT JOIN r ON r.id = v.account_id), u AS (UPDATE accounts_ledgeraccount SET posted_base = accounts_ledgeraccount.posted_base + w.net, pending = accounts_ledgeraccount.pending + w.pending FROM (VALUES (:source::bigint, -1.000::numeric, 0.000::numeric)) AS w(id, net, pending) WHERE accounts_ledgeraccount.id = w.id) SELECT r.id, r.public_id, r.currency, r.status, r.posted FROM r;
-- the Transfer row and its history row
INSERT INTO accounts_transfer (public_id, merchant_id, from_account_id, to_account_id, amount, currency, description, metadata, status, transaction_id, reversal_transaction_id, created, updated) VALUES ('tr_' || left(md5(random()::text), 24), '${merchant}', :source, :destination, 1.00, 'EUR', '', '{}'::jsonb, 'posted', :txn, NULL, now(), now()) RETURNING id \gset transfer_
INSERT INTO accounts_historicaltransfer (id, public_id, merchant_id, amount, currency, description, metadata, status, created, updated, from_account_id, to_account_id, transaction_id, reversal_transaction_id, history_date, history_change_reason, history_type, history_user_id) VALUES (:transfer_id, 'tr_' || left(md5(random()::text), 24), '${merchant}', 1.00, 'EUR', '', '{}'::jsonb, 'posted', now(), now(), :source, :destination, :txn, NULL, now(), 'system:- -', '+', NULL) RETURNING history_id;
-- audit_record: a free chain head, then the row and the head moved in one statement
SELECT chain, seq, hash FROM audit_auditchainhead ORDER BY (chain + 64 - :chain) % 64 LIMIT 1 FOR UPDATE SKIP LOCKED \gset head_
WITH ins AS (INSERT INTO audit_auditevent (event_id, correlation_id, idempotency_key, event_type, previous_state, new_state, actor_type, actor_id, object_type, object_id, amount, currency, merchant_id, ip_address, reason_code, metadata, created, chain, seq, prev_hash, hash) VALUES ('aud_' || left(md5(random()::text), 24), '', '', 'transfer.created', '', 'posted', 'system', '', 'transfer', 'tr_0000000000000000000000', 1.000, 'EUR', '${merchant}', NULL, '', '{"transaction": "txn_000000000000000000000000", "reference": "transfer:tr_000000000000000000000000"}'::jsonb, now(), :head_chain, :head_seq + 1, (SELECT hash FROM audit_auditchainhead WHERE chain = :head_chain), md5(random()::text) || md5(random()::text)) RETURNING id, chain, seq, hash) UPDATE audit_auditchainhead AS head SET seq = ins.seq, hash = ins.hash FROM ins WHERE head.chain = ins.chain RETURNING ins.id;
-- event_emit: the outbox row
INSERT INTO events_event (public_id, type, merchant_id, object_type, object_id, data, livemode, correlation_id, created) VALUES ('evt_' || left(md5(random()::text), 24), 'transfer.created', '${merchant}', 'transfer', 'tr_0000000000000000000000', '{"object": {"id": "tr_0000000000000000000000", "object": "transfer", "amount": 100, "currency": "eur", "from_account": "acct_000000000000000000000000", "to_account": "acct_000000000000000000000001", "description": "", "metadata": {}, "status": "posted", "transaction": "txn_000000000000000000000000", "reversal_transaction": null, "created": "2026-01-01T00:00:00.000000Z", "livemode": false}}'::jsonb, false, '', now()) RETURNING id;
COMMIT;
-- after commit: the webhook fan-out read
SELECT id FROM events_webhookendpoint WHERE merchant_id = '${merchant}' AND livemode = false AND status = 'enabled' AND deleted_at IS NULL AND created <= now() AND (enabled_events @> '["*"]'::jsonb OR enabled_events @> '["transfer.created"]'::jsonb) ORDER BY id;
