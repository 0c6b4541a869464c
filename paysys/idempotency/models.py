"""Stored Idempotency-Key outcomes; see ``paysys.idempotency.services`` for the protocol."""

from django.db import models
from django.db.models import Q


class IdempotencyKey(models.Model):
    class Status(models.TextChoices):
        IN_FLIGHT = "in_flight"
        COMPLETED = "completed"

    # The merchant's public id (``mer_…``): keys are scoped per merchant. A plain string,
    # because the platform knows nothing of the merchants app.
    merchant = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and canonical JSON body.
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_FLIGHT)
    # The lease of the request running it; after it a crashed request's key can be taken over.
    locked_until = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True, default="")
    created = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "key"], name="idempotency_idempotencykey_merchant_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(status="in_flight")
                | (Q(response_status__isnull=False) & Q(response_body__isnull=False)),
                name="idempotency_idempotencykey_completed_has_response",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["in_flight", "completed"]),
                name="idempotency_idempotencykey_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant}:{self.key} ({self.status})"
