"""``flush``, allowed to empty the audit tables outside production.

The audit tables reject TRUNCATE (migration ``audit.0002_append_only``). Django's ``flush`` (and
so every transactional test's teardown) truncates every table, so this command, which replaces
Django's own, lets its session pass the trigger (``paysys.audit_truncate_allowed``) for the
duration of the flush. In production it does not: flushing there fails on the audit log.
"""

from django.conf import settings
from django.core.management.commands.flush import Command as DjangoFlushCommand
from django.db import connections

TRUNCATE_ALLOWED_SETTING = "paysys.audit_truncate_allowed"


class Command(DjangoFlushCommand):
    def handle(self, **options):
        connection = connections[options["database"]]
        if settings.PRODUCTION or connection.vendor != "postgresql":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', false)", [TRUNCATE_ALLOWED_SETTING])
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'off', false)", [TRUNCATE_ALLOWED_SETTING])
