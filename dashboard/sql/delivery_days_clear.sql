-- The rows of the days %(first)s to %(last)s, before delivery_days.sql writes them again.
DELETE FROM dashboard_deliveryday WHERE day BETWEEN %(first)s AND %(last)s
