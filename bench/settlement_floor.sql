-- bench/settlement.py's floor: a copy of the rows a run reads and writes (same columns, indexes
-- and checks; no foreign keys), then the day as three plain statements, then the bare GROUP BY.
-- Sections are separated by a line `-- @@`; statements within one by a line `-- ;`.
DROP TABLE IF EXISTS floor_entry, floor_transaction, floor_payment, floor_line, floor_settlement;
CREATE TABLE floor_entry (LIKE accounts_entry INCLUDING ALL);
INSERT INTO floor_entry SELECT * FROM accounts_entry;
CREATE TABLE floor_transaction (LIKE accounts_journaltransaction INCLUDING ALL);
INSERT INTO floor_transaction SELECT * FROM accounts_journaltransaction;
CREATE TABLE floor_payment (LIKE payments_payment INCLUDING ALL);
ALTER TABLE floor_payment ADD COLUMN settled_by bigint;
INSERT INTO floor_payment SELECT *, NULL FROM payments_payment;
CREATE TABLE floor_line (LIKE settlements_settlementline INCLUDING ALL);
CREATE TABLE floor_settlement (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, merchant_id bigint NOT NULL,
    account_id bigint NOT NULL UNIQUE, currency varchar(3) NOT NULL, count integer NOT NULL,
    gross numeric(19, 3) NOT NULL, fees numeric(19, 3) NOT NULL, net numeric(19, 3) NOT NULL)
-- @@
INSERT INTO floor_settlement (merchant_id, account_id, currency, count, gross, fees, net)
SELECT m.id, a.id, a.currency, count(*), sum(e.amount + (t.metadata ->> 'fee')::numeric),
       sum((t.metadata ->> 'fee')::numeric), sum(e.amount)
  FROM floor_entry e
  JOIN floor_transaction t ON t.id = e.transaction_id
  JOIN accounts_ledgeraccount a ON a.id = e.account_id AND a.owner_type = 'merchant' AND a.kind = 'pending'
  JOIN merchants_merchant m ON m.public_id = a.merchant_id
 WHERE e.created < %(period_end)s
 GROUP BY m.id, a.id, a.currency
-- ;
INSERT INTO floor_line (settlement_id, type, source, entry_id, transaction_id, currency, amount, fee, gross, created)
SELECT s.id, 'payment', t.metadata ->> 'payment', e.id, e.transaction_id, e.currency, e.amount,
       (t.metadata ->> 'fee')::numeric, e.amount + (t.metadata ->> 'fee')::numeric, e.created
  FROM floor_entry e
  JOIN floor_transaction t ON t.id = e.transaction_id
  JOIN floor_settlement s ON s.account_id = e.account_id
 WHERE e.created < %(period_end)s
-- ;
UPDATE floor_payment p SET settled_by = l.settlement_id
  FROM floor_line l
 WHERE l.type = 'payment' AND p.public_id = l.source
-- @@
SELECT account_id, count(*), sum(amount) FROM floor_entry GROUP BY account_id
