-- Webhook deliveries created on the days %(first)s to %(last)s (UTC, both included), by their
-- status now and their endpoint's mode; through the deliveries' `created` index.
WITH span AS (
    SELECT (%(first)s::date)::timestamp AT TIME ZONE 'UTC' AS lo,
           (%(last)s::date + 1)::timestamp AT TIME ZONE 'UTC' AS hi
)
INSERT INTO dashboard_deliveryday (day, livemode, succeeded, failed, pending, abandoned)
SELECT (w.created AT TIME ZONE 'UTC')::date, e.livemode,
       count(*) FILTER (WHERE w.status = 'succeeded'),
       count(*) FILTER (WHERE w.status = 'failed'),
       count(*) FILTER (WHERE w.status = 'pending'),
       count(*) FILTER (WHERE w.status = 'abandoned')
FROM events_webhookdelivery w
JOIN events_webhookendpoint e ON e.id = w.endpoint_id, span
WHERE w.created >= span.lo AND w.created < span.hi
GROUP BY 1, 2
