-- The merchant `pending` accounts a settlement run of one date still has to settle: those with an
-- entry before their period's end that no settlement holds, or with a withheld reserve now due,
-- and no settlement in this batch yet. One statement for the whole batch.
-- Parameters: batch, date, midnight (the run date's 00:00 UTC), merchant (a merchant pk or NULL).
SELECT m.id, m.public_id, a.id, a.currency, a.livemode,
       %(midnight)s - (GREATEST(m.settlement_delay_days, 1) - 1) * INTERVAL '1 day' AS period_end
  FROM accounts_ledgeraccount a
  JOIN merchants_merchant m ON m.public_id = a.merchant_id
 WHERE a.owner_type = 'merchant' AND a.kind = 'pending'
   AND (%(merchant)s::bigint IS NULL OR m.id = %(merchant)s::bigint)
   AND NOT EXISTS (
        SELECT 1 FROM settlements_settlement s
         WHERE s.batch_id = %(batch)s AND s.merchant_id = m.id
           AND s.currency = a.currency AND s.livemode = a.livemode)
   AND (EXISTS (
            SELECT 1 FROM accounts_entry e
              JOIN accounts_journaltransaction t ON t.id = e.transaction_id
             WHERE e.account_id = a.id AND t.kind <> 'settlement'
               AND e.created < %(midnight)s - (GREATEST(m.settlement_delay_days, 1) - 1) * INTERVAL '1 day'
               AND NOT EXISTS (SELECT 1 FROM settlements_settlementline l WHERE l.entry_id = e.id))
        OR EXISTS (
            SELECT 1 FROM settlements_settlement r
             WHERE r.merchant_id = m.id AND r.currency = a.currency AND r.livemode = a.livemode
               AND r.reserve_release_on <= %(date)s AND r.reserve_released_by_id IS NULL))
 ORDER BY m.id, a.currency, a.livemode
