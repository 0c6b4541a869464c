-- Reconcile one batch's completed settlements with the ledger and the objects their lines name.
-- Each row is a difference: (settlement id, kind, what, expected, found). One statement.
-- Parameters: batch.
WITH s AS (
    SELECT * FROM settlements_settlement WHERE batch_id = %(batch)s AND status = 'completed'
), lines AS (
    SELECT l.* FROM settlements_settlementline l JOIN s ON s.id = l.settlement_id
), entry_lines AS (
    SELECT settlement_id, SUM(amount) AS amount FROM lines WHERE entry_id IS NOT NULL GROUP BY settlement_id
)
-- A line says what its ledger entry says.
SELECT l.settlement_id, 'line_differs_from_entry', 'line sl_' || l.id, e.amount::text, l.amount::text
  FROM lines l JOIN accounts_entry e ON e.id = l.entry_id
 WHERE l.amount <> e.amount OR l.currency <> e.currency
UNION ALL
-- The settlement's posting took from `pending` exactly what its lines sum to.
SELECT s.id, 'posting_differs_from_lines', 'settlement ' || s.public_id,
       COALESCE(el.amount, 0)::text, COALESCE(-p.amount, 0)::text
  FROM s
  LEFT JOIN entry_lines el ON el.settlement_id = s.id
  LEFT JOIN (SELECT e.transaction_id, e.amount FROM accounts_entry e
               JOIN accounts_ledgeraccount a ON a.id = e.account_id AND a.kind = 'pending') p
    ON p.transaction_id = s.transaction_id
 WHERE COALESCE(el.amount, 0) <> COALESCE(-p.amount, 0)
UNION ALL
-- The settlement's figures add up to its lines.
SELECT s.id, 'totals_differ_from_lines', 'settlement ' || s.public_id,
       COALESCE(el.amount, 0)::text, (s.gross - s.fees - s.refunds - s.disputes + s.adjustments)::text
  FROM s LEFT JOIN entry_lines el ON el.settlement_id = s.id
 WHERE COALESCE(el.amount, 0) <> s.gross - s.fees - s.refunds - s.disputes + s.adjustments
UNION ALL
SELECT s.id, 'reserve_differs_from_lines', 'settlement ' || s.public_id,
       (COALESCE(r.released, 0) - COALESCE(r.withheld, 0))::text, (s.reserve_released - s.reserve_withheld)::text
  FROM s LEFT JOIN (
        SELECT settlement_id,
               SUM(-amount) FILTER (WHERE type = 'reserve_withheld') AS withheld,
               SUM(amount) FILTER (WHERE type = 'reserve_released') AS released
          FROM lines GROUP BY settlement_id) r ON r.settlement_id = s.id
 WHERE COALESCE(r.withheld, 0) <> s.reserve_withheld OR COALESCE(r.released, 0) <> s.reserve_released
UNION ALL
-- A positive net is paid out, in full.
SELECT s.id, 'payout_differs_from_net', 'settlement ' || s.public_id, s.net::text, COALESCE(po.amount, 0)::text
  FROM s LEFT JOIN settlements_payout po ON po.settlement_id = s.id
 WHERE s.net > 0 AND COALESCE(po.amount, 0) <> s.net
UNION ALL
-- A payment line's fee is its payment's, and the payment is the merchant's.
SELECT l.settlement_id, 'line_differs_from_source', 'payment ' || l.source,
       COALESCE(p.fee, 0)::text, l.fee::text
  FROM lines l JOIN s ON s.id = l.settlement_id
  LEFT JOIN payments_payment p ON p.public_id = l.source AND p.merchant_id = s.merchant_id
 WHERE l.type = 'payment' AND (p.id IS NULL OR p.fee <> l.fee)
UNION ALL
-- A refund line takes at most its refund's amount, of the merchant's own refund.
SELECT l.settlement_id, 'line_differs_from_source', 'refund ' || l.source,
       COALESCE(r.amount, 0)::text, (-l.amount)::text
  FROM lines l JOIN s ON s.id = l.settlement_id
  LEFT JOIN payments_refund r ON r.public_id = l.source AND r.merchant_id = s.merchant_id
 WHERE l.type = 'refund' AND (r.id IS NULL OR abs(l.amount) > r.amount)
UNION ALL
-- A dispute line takes at most the dispute's amount and fee, of the merchant's own dispute.
SELECT l.settlement_id, 'line_differs_from_source', 'dispute ' || l.source,
       COALESCE(d.amount + d.fee, 0)::text, (-l.amount)::text
  FROM lines l JOIN s ON s.id = l.settlement_id
  LEFT JOIN payments_dispute d ON d.public_id = l.source AND d.merchant_id = s.merchant_id
 WHERE l.type = 'dispute' AND (d.id IS NULL OR abs(l.amount) > d.amount + d.fee)
