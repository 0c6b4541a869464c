-- ledger_account_balances: each account's stored balances, posted (base + balance shards) and
-- pending, as ledger_verify's checks compare them with the entries and holds.

CREATE OR REPLACE VIEW ledger_account_balances AS
    SELECT a.id, a.public_id, a.currency, a.livemode, a.allow_negative, a.pending,
           a.posted_base + COALESCE(s.total, 0) AS posted
      FROM accounts_ledgeraccount a
      LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM accounts_ledgerbalanceshard GROUP BY account_id) s
        ON s.account_id = a.id;
