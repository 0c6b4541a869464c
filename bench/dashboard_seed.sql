-- bench/dashboard.py's seed, set-based: :payments payments over the merchants and the :days days
-- before now (spread evenly), in EUR, USD and JPY by merchant; 5 % declined, 1 % voided, a few
-- in review, the rest captured. Refunds (2.5 % of captures), disputes (0.5 %: awaiting
-- evidence, won, lost), one webhook endpoint per merchant (1 % disabled) with a delivery for
-- every tenth payment (a few failing or abandoned), and a settlement batch per day with each
-- merchant's settlement and payout (paid, in transit, on hold, failed), each payout with its
-- journal transactions. Ledger entries are not seeded: the dashboard never reads them.
BEGIN;

CREATE TEMP TABLE bench_merchant ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY m.id) - 1 AS n, m.id AS merchant_pk, m.public_id AS merchant_id,
       (ARRAY['EUR', 'USD', 'JPY'])[1 + (row_number() OVER (ORDER BY m.id) - 1) % 3] AS currency
  FROM merchants_merchant m;

CREATE TEMP TABLE seed ON COMMIT DROP AS
SELECT g, bm.merchant_pk, bm.currency,
       CASE WHEN bm.currency = 'JPY' THEN (100 + (g::bigint * 7919) % 19901)::numeric(19, 3)
            ELSE ((100 + (g::bigint * 7919) % 19901) / 100.0)::numeric(19, 3) END AS amount,
       CASE WHEN g % 20 = 0 THEN 'failed' WHEN g % 5003 = 1 THEN 'requires_review'
            WHEN g % 97 = 2 THEN 'canceled' ELSE 'succeeded' END AS status,
       now() - (1 - g::float8 / :payments) * :days * INTERVAL '1 day' AS created
  FROM generate_series(1, :payments) g
  JOIN bench_merchant bm ON bm.n = g % (SELECT count(*) FROM bench_merchant);

INSERT INTO payments_payment
    (public_id, status, capture_method, currency, amount, amount_capturable, amount_captured,
     amount_refunded, fee, transfer_data, processor_authorization, disputed, failure_code,
     failure_message, cancellation_reason, risk_score, risk_reasons, receipt_email, description,
     metadata, livemode, created, updated, authorized_at, expires_at, captured_at, merchant_id,
     payment_method_id)
SELECT 'pay_bench' || lpad(s.g::text, 19, '0'), s.status, 'automatic', s.currency, s.amount,
       CASE WHEN s.status = 'requires_review' THEN s.amount ELSE 0 END,
       CASE WHEN s.status = 'succeeded' THEN s.amount ELSE 0 END, 0,
       CASE WHEN s.status = 'succeeded' THEN round(s.amount * 290 / 10000, CASE WHEN s.currency = 'JPY' THEN 0 ELSE 2 END) ELSE 0 END,
       '[]', CASE WHEN s.status = 'failed' THEN '' ELSE 'simauth_' || lpad(to_hex(s.g), 20, '0') END,
       false, CASE WHEN s.status = 'failed' THEN 'generic_decline' ELSE '' END,
       CASE WHEN s.status = 'failed' THEN 'Your card was declined.' ELSE '' END, '',
       CASE WHEN s.status = 'requires_review' THEN 85 ELSE 5 END, '[]', '', '', '{}', false,
       s.created, s.created,
       CASE WHEN s.status = 'failed' THEN NULL ELSE s.created END,
       CASE WHEN s.status = 'requires_review' THEN s.created + INTERVAL '7 days' END,
       CASE WHEN s.status = 'succeeded' THEN s.created END,
       s.merchant_pk, (SELECT payment_method_id FROM payments_payment ORDER BY id LIMIT 1)
  FROM seed s
 ORDER BY s.g;

INSERT INTO payments_refund
    (public_id, amount, currency, status, reason, failure_reason, metadata, livemode, created, updated,
     merchant_id, payment_id)
SELECT 're_bench' || lpad(p.id::text, 19, '0'),
       round(p.amount / 2, CASE WHEN p.currency = 'JPY' THEN 0 ELSE 2 END), p.currency, 'succeeded',
       'requested_by_customer', '', '{}', false, least(now(), p.created + INTERVAL '1 day'),
       least(now(), p.created + INTERVAL '1 day'), p.merchant_id, p.id
  FROM payments_payment p
 WHERE p.status = 'succeeded' AND p.id % 40 = 5;
UPDATE payments_payment p SET amount_refunded = r.amount
  FROM payments_refund r WHERE r.payment_id = p.id;

INSERT INTO payments_dispute
    (public_id, amount, fee, platform_shortfall, currency, status, reason, evidence_text,
     evidence_submitted_at, evidence_due_by, livemode, created, updated, closed_at, merchant_id, payment_id)
SELECT 'dp_bench' || lpad(d.id::text, 19, '0'), d.amount, 15, 0, d.currency, d.outcome, 'fraudulent', '',
       NULL, d.opened + INTERVAL '7 days', false, d.opened, d.opened,
       CASE WHEN d.outcome IN ('won', 'lost') THEN least(now(), d.opened + INTERVAL '5 days') END,
       d.merchant_id, d.id
  FROM (SELECT p.*, least(now(), p.created + INTERVAL '2 days') AS opened,
               (ARRAY['needs_response', 'won', 'lost'])[1 + p.id % 3] AS outcome
          FROM payments_payment p
         WHERE p.status = 'succeeded' AND p.id % 211 = 7 AND p.amount_refunded = 0) d;
UPDATE payments_payment p SET disputed = true FROM payments_dispute d WHERE d.payment_id = p.id;

INSERT INTO events_webhookendpoint
    (public_id, merchant_id, url, description, enabled_events, status, disabled_reason, secret_encrypted,
     previous_secret_encrypted, failing_since, livemode, metadata, created, updated)
SELECT 'we_bench' || lpad(bm.n::text, 19, '0'), bm.merchant_id, 'https://example.com/hooks', '', '["*"]',
       CASE WHEN bm.n % 100 = 0 THEN 'disabled' ELSE 'enabled' END,
       CASE WHEN bm.n % 100 = 0 THEN 'failing' ELSE '' END, 'bench-not-a-secret', '',
       CASE WHEN bm.n % 100 = 50 THEN now() - INTERVAL '1 day' END, false, '{}',
       now() - :days * INTERVAL '1 day', now()
  FROM bench_merchant bm;

CREATE TEMP TABLE seed_event ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('events_event', 'id')) AS event_pk, p.id AS payment_pk, p.public_id,
       p.created, m.public_id AS merchant_id, e.id AS endpoint_pk
  FROM payments_payment p
  JOIN merchants_merchant m ON m.id = p.merchant_id
  JOIN events_webhookendpoint e ON e.merchant_id = m.public_id
 WHERE p.id % 10 = 0;

INSERT INTO events_event (id, public_id, type, merchant_id, object_type, object_id, data, livemode, correlation_id, created)
SELECT event_pk, 'evt_bench' || lpad(event_pk::text, 19, '0'), 'payment.succeeded', merchant_id, 'payment',
       public_id, jsonb_build_object('object', jsonb_build_object('id', public_id)), false, '', created
  FROM seed_event ORDER BY event_pk;

INSERT INTO events_webhookdelivery
    (public_id, status, attempt_count, next_attempt_at, dispatched_at, last_attempt_at, last_status_code,
     completed_at, created, event_id, endpoint_id)
SELECT 'whd_bench' || lpad(event_pk::text, 19, '0'), d.status,
       CASE WHEN d.status = 'succeeded' THEN 1 ELSE 5 END,
       CASE WHEN d.status = 'failed' THEN now() + INTERVAL '1 hour' END, created, created,
       CASE WHEN d.status = 'succeeded' THEN 200 ELSE 500 END,
       CASE WHEN d.status IN ('succeeded', 'abandoned') THEN created END, created, event_pk, endpoint_pk
  FROM (SELECT s.*, CASE WHEN s.payment_pk % 1000 = 0 THEN 'failed' WHEN s.payment_pk % 310 = 0 THEN 'abandoned'
                         ELSE 'succeeded' END AS status
          FROM seed_event s) d
 ORDER BY event_pk;

INSERT INTO settlements_settlementbatch
    (date, status, settlements_count, lines_count, failures_count, failures, runs, started_at, finished_at, created)
SELECT current_date - k, 'completed', (SELECT count(*) FROM bench_merchant), 0, 0, '[]', 1, now(), now(), now()
  FROM generate_series(1, :days) k;

INSERT INTO settlements_settlement
    (public_id, livemode, status, currency, gross, fees, refunds, disputes, adjustments, reserve_withheld,
     reserve_released, net, count, period_end, created, merchant_id, batch_id)
SELECT 'set_bench' || lpad((b.id * 100000 + bm.n)::text, 19, '0'), false, 'completed', bm.currency,
       1000 + (b.id + bm.n) % 500, 30, 0, 0, 0, 0, 0, 970 + (b.id + bm.n) % 500, 100, b.date, now(),
       bm.merchant_pk, b.id
  FROM settlements_settlementbatch b CROSS JOIN bench_merchant bm;

CREATE TEMP TABLE seed_payout ON COMMIT DROP AS
SELECT s.id AS settlement_pk, s.merchant_id, s.currency, s.net, b.date,
       CASE WHEN (s.merchant_id + b.id) % 50 = 0 THEN 'on_hold' WHEN (s.merchant_id + b.id) % 50 = 1 THEN 'failed'
            WHEN b.date >= current_date - 2 THEN 'in_transit' ELSE 'paid' END AS status,
       nextval(pg_get_serial_sequence('accounts_journaltransaction', 'id')) AS txn_pk,
       nextval(pg_get_serial_sequence('accounts_journaltransaction', 'id')) AS outcome_txn_pk
  FROM settlements_settlement s JOIN settlements_settlementbatch b ON b.id = s.batch_id;

INSERT INTO accounts_journaltransaction (id, public_id, kind, reference, description, metadata, merchant_id, created)
SELECT t.id, 'txn_bench' || lpad(t.id::text, 19, '0'), 'payout', 'bench:' || t.id, '', '{}', m.public_id, now()
  FROM (SELECT txn_pk AS id, merchant_id FROM seed_payout
        UNION ALL SELECT outcome_txn_pk, merchant_id FROM seed_payout WHERE status IN ('paid', 'failed')) t
  JOIN merchants_merchant m ON m.id = t.merchant_id
 ORDER BY t.id;

INSERT INTO settlements_payout
    (public_id, livemode, currency, amount, status, arrival_date, failure_code, bank_reference, created, updated,
     merchant_id, paid_transaction_id, return_transaction_id, transaction_id, settlement_id)
SELECT 'po_bench' || lpad(settlement_pk::text, 19, '0'), false, currency, net, status, date + 2,
       CASE WHEN status = 'failed' THEN 'account_closed' ELSE '' END, '', now(), now(), merchant_id,
       CASE WHEN status = 'paid' THEN outcome_txn_pk END, CASE WHEN status = 'failed' THEN outcome_txn_pk END,
       txn_pk, settlement_pk
  FROM seed_payout ORDER BY settlement_pk;

COMMIT;
