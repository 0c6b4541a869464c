"""Stored Idempotency-Key outcomes; see ``paysys.idempotency.services`` for the protocol."""

from django.db import models
from django.db.models import Q


class IdempotencyKey(models.Model):
    """A request's recovery point while it runs through the processor, then its response.

    A row without a response is a request that committed work before calling an outside
    system (the processor) and has not finished: ``recovery_point`` names where a retry resumes.
    """

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
    # Opaque to the platform: written by the domain service at each checkpoint.
    recovery_point = models.CharField(max_length=200, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # Encrypted (paysys.crypto): a response may show a secret (``whsec_``, ``sk_``) once.
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True, default="")
    created = models.DateTimeField(db_index=True)

    TENANT_FIELDS = ("merchant", "livemode")  # see paysys.tenancy

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "livemode", "key"],
                name="idempotency_idempotencykey_merchant_mode_key_unique",
            ),
            models.CheckConstraint(
                condition=Q(response_status__isnull=True, response_body__isnull=True)
                | Q(response_status__isnull=False, response_body__isnull=False),
                name="idempotency_idempotencykey_response_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant}:{self.key} ({self.response_status or self.recovery_point})"
