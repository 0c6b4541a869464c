"""Django's PostgreSQL backend, without the health check for a connection that just answered.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every request
or task: a round trip that costs about 80 µs of Python and 50 µs of PostgreSQL CPU, on every
request. Here a connection that ended a request or task without an error less than
``FRESH_SECONDS`` ago is taken as alive and used at once; one idle for longer is checked as
before, and one that saw an error is checked by Django as the request ends. What is lost is
only the check of a connection the server dropped within that second: its next request fails
(an API POST rolls back and its retry runs afresh) and the connection is replaced.

``ENGINE = "paysys.db.postgresql"`` in ``DATABASES`` (``paysys.settings`` sets it).
"""

import time

from django.db.backends.postgresql import base

FRESH_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    answered_at = float("-inf")  # monotonic time the connection last ended a unit of work cleanly

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and time.monotonic() - self.answered_at < FRESH_SECONDS:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self) -> None:
        # Called as a request or task starts and ends. ``health_check_done`` says the connection
        # was used since the last call (Django sets it at the first cursor); no error since the
        # last commit or rollback means every statement it ran was answered.
        answered = self.connection is not None and self.health_check_done and not self.errors_occurred
        super().close_if_unusable_or_obsolete()
        if answered and self.connection is not None:
            self.answered_at = time.monotonic()

    def close(self) -> None:
        super().close()
        self.answered_at = float("-inf")
