-- The figures of payments, refunds and disputes for the days %(first)s to %(last)s (UTC dates,
-- both included), computed from the base tables through their `created` indexes. Run after
-- payment_days_clear.sql in one transaction. Each figure is counted on the day dashboard.models
-- names; a key with nothing that day gets no row.
WITH span AS (
    SELECT (%(first)s::date)::timestamp AT TIME ZONE 'UTC' AS lo,
           (%(last)s::date + 1)::timestamp AT TIME ZONE 'UTC' AS hi
),
figures AS (
    SELECT (p.created AT TIME ZONE 'UTC')::date AS day, p.merchant_id, p.currency, p.livemode,
           count(*) AS payments_count,
           sum(p.amount) AS payments_amount,
           count(*) FILTER (WHERE p.authorized_at IS NOT NULL) AS authorized_count,
           count(*) FILTER (WHERE p.status = 'failed' AND p.authorized_at IS NULL) AS declined_count,
           count(*) FILTER (WHERE p.amount_captured > 0) AS captured_count,
           sum(p.amount_captured) AS captured_amount,
           0 AS refunds_count, 0 AS refunds_amount,
           0 AS disputes_opened, 0 AS disputes_amount, 0 AS disputes_won, 0 AS disputes_lost
    FROM payments_payment p, span
    WHERE p.created >= span.lo AND p.created < span.hi
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT (r.created AT TIME ZONE 'UTC')::date, r.merchant_id, r.currency, r.livemode,
           0, 0, 0, 0, 0, 0, count(*), sum(r.amount), 0, 0, 0, 0
    FROM payments_refund r, span
    WHERE r.created >= span.lo AND r.created < span.hi AND r.status = 'succeeded'
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT (d.created AT TIME ZONE 'UTC')::date, d.merchant_id, d.currency, d.livemode,
           0, 0, 0, 0, 0, 0, 0, 0, count(*), sum(d.amount), 0, 0
    FROM payments_dispute d, span
    WHERE d.created >= span.lo AND d.created < span.hi
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT (d.closed_at AT TIME ZONE 'UTC')::date, d.merchant_id, d.currency, d.livemode,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           count(*) FILTER (WHERE d.status = 'won'), count(*) FILTER (WHERE d.status = 'lost')
    FROM payments_dispute d, span
    WHERE d.closed_at >= span.lo AND d.closed_at < span.hi AND d.status IN ('won', 'lost')
    GROUP BY 1, 2, 3, 4
)
INSERT INTO dashboard_paymentday (
    day, merchant_id, currency, livemode,
    payments_count, payments_amount, authorized_count, declined_count, captured_count, captured_amount,
    refunds_count, refunds_amount, disputes_opened, disputes_amount, disputes_won, disputes_lost
)
SELECT day, merchant_id, currency, livemode,
       sum(payments_count), sum(payments_amount), sum(authorized_count), sum(declined_count),
       sum(captured_count), sum(captured_amount), sum(refunds_count), sum(refunds_amount),
       sum(disputes_opened), sum(disputes_amount), sum(disputes_won), sum(disputes_lost)
FROM figures
GROUP BY day, merchant_id, currency, livemode
