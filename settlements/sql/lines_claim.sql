-- Claim, as lines of one settlement, every entry of one merchant `pending` account created before
-- the period's end that no settlement holds yet (an entry is settled once: the unique entry_id),
-- and return the claimed lines' count and sums per line type. One statement per settlement.
--
-- A line's type and source come from its journal transaction: a capture of the merchant's own
-- payment (its fee in the transaction's metadata), a capture of another merchant's split payment
-- (a transfer in), a wallet payment's fee posting (the payment's fee; the rest is its split
-- transfers), a refund or the reversal of a failed refund, a dispute or a won dispute; anything
-- else is an adjustment named by its transaction. gross = amount + fee. The settlements' own
-- postings are what settles, never settled.
-- Parameters: settlement, account, merchant (the merchant's public id), period_end.
WITH claimed AS (
    INSERT INTO settlements_settlementline
        (settlement_id, type, source, entry_id, transaction_id, currency, amount, fee, gross, created)
    SELECT %(settlement)s, c.type, c.source, e.id, e.transaction_id, e.currency,
           e.amount, c.fee, e.amount + c.fee, e.created
      FROM accounts_entry e
      JOIN accounts_journaltransaction t ON t.id = e.transaction_id
      LEFT JOIN payments_payment p ON t.kind = 'fee' AND p.public_id = t.metadata ->> 'payment'
     CROSS JOIN LATERAL (
        SELECT CASE
                 WHEN t.kind = 'capture' AND t.merchant_id = %(merchant)s THEN 'payment'
                 WHEN t.kind = 'capture' THEN 'transfer'
                 WHEN t.kind = 'fee' THEN 'fee'
                 WHEN t.kind = 'refund' OR starts_with(t.reference, 'refund_failed:') THEN 'refund'
                 WHEN t.kind = 'dispute' THEN 'dispute'
                 ELSE 'adjustment'
               END AS type,
               CASE
                 WHEN starts_with(t.reference, 'refund_failed:') THEN split_part(t.reference, ':', 2)
                 ELSE COALESCE(t.metadata ->> 'refund', t.metadata ->> 'dispute', t.metadata ->> 'payment', t.public_id)
               END AS source,
               CASE
                 WHEN t.kind = 'capture' AND t.merchant_id = %(merchant)s
                   THEN COALESCE((t.metadata ->> 'fee')::numeric, 0)
                 WHEN t.kind = 'fee' THEN COALESCE(p.fee, 0)
                 ELSE 0
               END AS fee
     ) c
     WHERE e.account_id = %(account)s
       AND e.created < %(period_end)s
       AND t.kind <> 'settlement'
       AND NOT EXISTS (SELECT 1 FROM settlements_settlementline l WHERE l.entry_id = e.id)
     ORDER BY e.id
    ON CONFLICT (entry_id) DO NOTHING
    RETURNING type, amount, fee, gross
)
SELECT type, COUNT(*), SUM(amount), SUM(fee), SUM(gross) FROM claimed GROUP BY type
