-- Claim, as lines of one settlement, every entry of one merchant `pending` account created before
-- the period's end that no settlement holds yet, and move the account's watermark past them;
-- return the in-scope entries' count and sums per line type, and whether they were claimed. One
-- statement per settlement.
--
-- Entries are read from the account's watermark on (settlements_entrywatermark; none yet: from
-- the first): every entry below it is settled or is a settlement's own posting, so settled
-- history is never read again. The caller has locked the account and its balance shards
-- (accounts_lock, account_shards_lock): no posting to it is in flight, so every entry below the
-- new watermark is visible here, and any later one gets a higher id. The new watermark is the
-- lowest id of an entry left unsettled (created after the period's end), else one past the
-- account's highest entry id, else where it was (docs/decisions.md, "The settlement watermark").
--
-- A debt is carried forward, never claimed: when the in-scope entries sum below zero nothing is
-- written (no line, the watermark stays) and `claimed` is false; the same entries settle later,
-- netted against the captures that follow. An entry is settled once (the unique entry_id: a
-- conflict fails the settlement rather than leave totals that name another's lines).
--
-- A line's type and source come from its journal transaction: a capture of the merchant's own
-- payment (its fee in the transaction's metadata), a capture of another merchant's split payment
-- (a transfer in), a wallet payment's fee posting (the payment's fee; the rest is its split
-- transfers), a refund or the reversal of a failed refund, a dispute or a won dispute; anything
-- else is an adjustment named by its transaction. gross = amount + fee. The settlements' own
-- postings are what settles, never settled.
-- Parameters: settlement, account, merchant (the merchant's public id), period_end.
WITH mark AS (
    SELECT COALESCE((SELECT entry_id FROM settlements_entrywatermark WHERE account_id = %(account)s), 0) AS entry_id
), unsettled AS (
    SELECT e.id, e.transaction_id, e.currency, e.amount, e.created, t.kind, t.reference, t.metadata,
           t.merchant_id, t.public_id
      FROM accounts_entry e
      JOIN accounts_journaltransaction t ON t.id = e.transaction_id
     WHERE e.account_id = %(account)s
       AND e.id >= (SELECT entry_id FROM mark)
       AND t.kind <> 'settlement'
       AND NOT EXISTS (SELECT 1 FROM settlements_settlementline l WHERE l.entry_id = e.id)
), due AS (
    SELECT u.id, u.transaction_id, u.currency, u.amount, u.created, c.type, c.source, c.fee
      FROM unsettled u
      LEFT JOIN payments_payment p ON u.kind = 'fee' AND p.public_id = u.metadata ->> 'payment'
     CROSS JOIN LATERAL (
        SELECT CASE
                 WHEN u.kind = 'capture' AND u.merchant_id = %(merchant)s THEN 'payment'
                 WHEN u.kind = 'capture' THEN 'transfer'
                 WHEN u.kind = 'fee' THEN 'fee'
                 WHEN u.kind = 'refund' OR starts_with(u.reference, 'refund_failed:') THEN 'refund'
                 WHEN u.kind = 'dispute' THEN 'dispute'
                 ELSE 'adjustment'
               END AS type,
               CASE
                 WHEN starts_with(u.reference, 'refund_failed:') THEN split_part(u.reference, ':', 2)
                 ELSE COALESCE(u.metadata ->> 'refund', u.metadata ->> 'dispute', u.metadata ->> 'payment', u.public_id)
               END AS source,
               CASE
                 WHEN u.kind = 'capture' AND u.merchant_id = %(merchant)s
                   THEN COALESCE((u.metadata ->> 'fee')::numeric, 0)
                 WHEN u.kind = 'fee' THEN COALESCE(p.fee, 0)
                 ELSE 0
               END AS fee
     ) c
     WHERE u.created < %(period_end)s
), decision AS (
    SELECT COALESCE(SUM(amount), 0) >= 0 AS claimed FROM due
), lines AS (
    INSERT INTO settlements_settlementline
        (settlement_id, type, source, entry_id, transaction_id, currency, amount, fee, gross, created)
    SELECT %(settlement)s, d.type, d.source, d.id, d.transaction_id, d.currency, d.amount, d.fee,
           d.amount + d.fee, d.created
      FROM due d
     WHERE (SELECT claimed FROM decision)
     ORDER BY d.id
), watermark AS (
    INSERT INTO settlements_entrywatermark (account_id, entry_id, updated)
    SELECT %(account)s,
           COALESCE((SELECT MIN(id) FROM unsettled WHERE created >= %(period_end)s),
                    (SELECT MAX(e.id) + 1 FROM accounts_entry e
                      WHERE e.account_id = %(account)s AND e.id >= (SELECT entry_id FROM mark)),
                    (SELECT entry_id FROM mark)),
           now()
     WHERE (SELECT claimed FROM decision)
    ON CONFLICT (account_id) DO UPDATE SET entry_id = EXCLUDED.entry_id, updated = EXCLUDED.updated
)
SELECT d.type, COUNT(*), SUM(d.amount), SUM(d.fee), SUM(d.amount + d.fee), (SELECT claimed FROM decision)
  FROM due d
 GROUP BY d.type
