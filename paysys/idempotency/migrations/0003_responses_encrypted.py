"""Stored responses are encrypted at rest (``paysys.crypto``): the rows already kept are encrypted.

Their fingerprints were plain SHA-256 and are now keyed: a retry of a request stored before this
migration no longer matches its row and is answered 422 (never run twice) until the row is
pruned, at most ``PAYSYS_IDEMPOTENCY_RETENTION_HOURS`` later.
"""

from django.db import migrations

from paysys import crypto

BATCH_SIZE = 1_000


def _rewrite(apps, transform) -> None:
    model = apps.get_model("idempotency", "IdempotencyKey")
    for row in model.objects.only("pk", "response_body").iterator(chunk_size=BATCH_SIZE):
        model.objects.filter(pk=row.pk).update(response_body=transform(bytes(row.response_body)))


def encrypt(apps, schema_editor):
    _rewrite(apps, crypto.encrypt)


def decrypt(apps, schema_editor):
    _rewrite(apps, crypto.decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("idempotency", "0002_stored_with_the_request"),
    ]

    operations = [
        migrations.RunPython(encrypt, decrypt, elidable=False),
    ]
