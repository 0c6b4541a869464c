-- The merchant `pending` accounts a settlement run of one date still has to settle: those with an
-- entry before their period's end that no settlement holds, or with a withheld reserve now due,
-- and no settlement in this batch yet; with the merchant's `available` and `reserve` accounts
-- (NULL if not open) and whether a reserve is due. One statement for the whole batch.
-- Entries are looked for from the account's watermark on (settlements_entrywatermark, see
-- lines_claim.sql): settled history is not read.
-- Parameters: batch, date, midnight (the run date's 00:00 UTC), merchant (a merchant pk or NULL).
SELECT m.id, m.public_id, a.id, a.currency, a.livemode, pe.period_end, av.id, rs.id, r.reserve_due
  FROM accounts_ledgeraccount a
  JOIN merchants_merchant m ON m.public_id = a.merchant_id
  LEFT JOIN settlements_entrywatermark w ON w.account_id = a.id
  LEFT JOIN accounts_ledgeraccount av
    ON av.merchant_id = a.merchant_id AND av.livemode = a.livemode AND av.kind = 'available'
   AND av.currency = a.currency AND av.owner_type = 'merchant'
  LEFT JOIN accounts_ledgeraccount rs
    ON rs.merchant_id = a.merchant_id AND rs.livemode = a.livemode AND rs.kind = 'reserve'
   AND rs.currency = a.currency AND rs.owner_type = 'merchant'
 CROSS JOIN LATERAL (
        SELECT %(midnight)s - (GREATEST(m.settlement_delay_days, 1) - 1) * INTERVAL '1 day' AS period_end) pe
 CROSS JOIN LATERAL (
        SELECT EXISTS (
            SELECT 1 FROM settlements_settlement r
             WHERE r.merchant_id = m.id AND r.currency = a.currency AND r.livemode = a.livemode
               AND r.reserve_release_on <= %(date)s AND r.reserve_released_by_id IS NULL) AS reserve_due) r
 WHERE a.owner_type = 'merchant' AND a.kind = 'pending'
   AND (%(merchant)s::bigint IS NULL OR m.id = %(merchant)s::bigint)
   AND NOT EXISTS (
        SELECT 1 FROM settlements_settlement s
         WHERE s.batch_id = %(batch)s AND s.merchant_id = m.id
           AND s.currency = a.currency AND s.livemode = a.livemode)
   AND (r.reserve_due
        OR EXISTS (
            SELECT 1 FROM accounts_entry e
              JOIN accounts_journaltransaction t ON t.id = e.transaction_id
             WHERE e.account_id = a.id AND e.id >= COALESCE(w.entry_id, 0)
               AND t.kind <> 'settlement' AND e.created < pe.period_end
               AND NOT EXISTS (SELECT 1 FROM settlements_settlementline l WHERE l.entry_id = e.id)))
 ORDER BY m.id, a.currency, a.livemode
