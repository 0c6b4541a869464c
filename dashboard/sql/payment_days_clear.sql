-- The rows of the days %(first)s to %(last)s, before payment_days.sql writes them again.
DELETE FROM dashboard_paymentday WHERE day BETWEEN %(first)s AND %(last)s
