-- bench/settlement.py's seed: :payments captured card payments of EUR 1.00 to 200.00 spread over
-- the merchants, written as payment_create writes them (the payment; its capture transaction
-- `capture:<payment>` with the fee and the payment in its metadata; three entries, in account id
-- order: the merchant's `pending` + amount - fee, the platform's `fees` + fee, `card_clearing`
-- - amount, each with the account's balance after it), created within the hour before now; then
-- each account's balance shard 0 takes the entries' sum. The fee is the merchants' plan: 2.9 % +
-- EUR 0.25 (bench/settlement.py checks it against the service's payments).
-- The rows are written with foreign keys and check triggers off (`session_replication_role`:
-- their per-row checks were most of the seed's time); bench/settlement.py checks the rows'
-- shape and runs verify_ledger over them before anything is timed.
BEGIN;
SET LOCAL session_replication_role = replica;

CREATE TEMP TABLE bench_merchant ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY m.id) - 1 AS n, m.id AS merchant_pk, m.public_id AS merchant_id,
       a.id AS pending_pk
  FROM merchants_merchant m
  JOIN accounts_ledgeraccount a
    ON a.merchant_id = m.public_id AND a.owner_type = 'merchant' AND a.kind = 'pending'
   AND a.currency = 'EUR' AND NOT a.livemode;

CREATE TEMP TABLE bench_platform ON COMMIT DROP AS
SELECT (SELECT id FROM accounts_ledgeraccount
         WHERE owner_type = 'platform' AND kind = 'fees' AND currency = 'EUR' AND NOT livemode) AS fees_pk,
       (SELECT id FROM accounts_ledgeraccount
         WHERE owner_type = 'platform' AND kind = 'card_clearing' AND currency = 'EUR' AND NOT livemode) AS clearing_pk,
       (SELECT payment_method_id FROM payments_payment ORDER BY id LIMIT 1) AS method_pk;

CREATE TEMP TABLE seed ON COMMIT DROP AS
SELECT g, bm.merchant_pk, bm.merchant_id, bm.pending_pk, x.amount,
       round(x.amount * 290 / 10000 + 0.25, 2) AS fee,
       'pay_bench' || lpad(g::text, 19, '0') AS payment_id,
       'txn_bench' || lpad(g::text, 19, '0') AS txn_public_id,
       now() - (1 - g::float8 / :payments) * INTERVAL '1 hour' AS created
  FROM generate_series(1, :payments) g
 CROSS JOIN LATERAL (SELECT ((100 + (g::bigint * 7919) % 19901) / 100.0)::numeric(19, 2) AS amount) x
  JOIN bench_merchant bm ON bm.n = g % (SELECT count(*) FROM bench_merchant);
ALTER TABLE seed ADD COLUMN txn_pk bigint;
UPDATE seed SET txn_pk = nextval(pg_get_serial_sequence('accounts_journaltransaction', 'id'));

INSERT INTO payments_payment
    (public_id, status, capture_method, currency, amount, amount_capturable, amount_captured,
     amount_refunded, fee, transfer_data, processor_authorization, disputed, failure_code,
     failure_message, cancellation_reason, risk_score, risk_reasons, receipt_email, description,
     metadata, livemode, created, updated, authorized_at, expires_at, captured_at, merchant_id,
     payment_method_id)
SELECT s.payment_id, 'succeeded', 'automatic', 'EUR', s.amount, 0, s.amount, 0, s.fee, '[]',
       'simauth_' || lpad(to_hex(s.g), 20, '0'), false, '', '', '', 5, '["network_score"]', '', '',
       '{}', false, s.created, s.created, s.created, s.created + INTERVAL '7 days', s.created,
       s.merchant_pk, p.method_pk
  FROM seed s CROSS JOIN bench_platform p
 ORDER BY s.g;

INSERT INTO accounts_journaltransaction (id, public_id, kind, reference, description, metadata, merchant_id, created)
SELECT txn_pk, txn_public_id, 'capture', 'capture:' || payment_id, '',
       jsonb_build_object('fee', fee::text, 'payment', payment_id), merchant_id, created
  FROM seed
 ORDER BY txn_pk;

CREATE TEMP TABLE seed_entry ON COMMIT DROP AS
SELECT s.txn_pk, s.created, v.account_id, v.amount
  FROM seed s CROSS JOIN bench_platform p
 CROSS JOIN LATERAL (VALUES (s.pending_pk, s.amount - s.fee), (p.fees_pk, s.fee), (p.clearing_pk, -s.amount))
       AS v (account_id, amount)
 WHERE v.amount <> 0;

CREATE TEMP TABLE opening ON COMMIT DROP AS
SELECT a.id AS account_id,
       a.posted_base + coalesce((SELECT sum(sh.amount) FROM accounts_ledgerbalanceshard sh WHERE sh.account_id = a.id), 0)
         AS balance
  FROM accounts_ledgeraccount a
 WHERE a.id IN (SELECT DISTINCT account_id FROM seed_entry);

INSERT INTO accounts_entry (transaction_id, account_id, amount, currency, balance_after, created)
SELECT e.txn_pk, e.account_id, e.amount, 'EUR',
       o.balance + sum(e.amount) OVER (PARTITION BY e.account_id ORDER BY e.txn_pk ROWS UNBOUNDED PRECEDING),
       e.created
  FROM seed_entry e JOIN opening o ON o.account_id = e.account_id
 ORDER BY e.txn_pk, e.account_id;

UPDATE accounts_ledgerbalanceshard sh SET amount = sh.amount + t.total
  FROM (SELECT account_id, sum(amount) AS total FROM seed_entry GROUP BY account_id) t
 WHERE sh.account_id = t.account_id AND sh.shard = 0;

COMMIT;
