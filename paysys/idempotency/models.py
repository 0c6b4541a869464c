"""Stored Idempotency-Key outcomes; see ``paysys.idempotency.services`` for the protocol."""

from django.db import models


class IdempotencyKey(models.Model):
    """A completed request's response, written in the same transaction as the request's changes."""

    # The merchant's public id (``mer_…``): keys are scoped per merchant. A plain string,
    # because the platform knows nothing of the merchants app.
    merchant = models.CharField(max_length=40)
    # And per mode: a test key and a live key of one merchant never share a stored response.
    livemode = models.BooleanField(default=False, db_default=False)
    key = models.CharField(max_length=255)
    # Keyed SHA-256 (paysys.crypto) of method, path and canonical JSON body.
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    response_status = models.PositiveSmallIntegerField()
    # Encrypted (paysys.crypto): a response may show a secret (``whsec_``, ``sk_``) once.
    response_body = models.BinaryField()
    response_content_type = models.CharField(max_length=100, blank=True, default="")
    created = models.DateTimeField(db_index=True)

    TENANT_FIELDS = ("merchant", "livemode")  # see paysys.tenancy

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "livemode", "key"],
                name="idempotency_idempotencykey_merchant_mode_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant}:{self.key} ({self.response_status})"
