"""The risk blocklist: card fingerprints, IP addresses and e-mail addresses."""

from django.db import models
from django.db.models import Q

from paysys.audit.history import HistoricalRecords


class BlocklistEntry(models.Model):
    class Kind(models.TextChoices):
        FINGERPRINT = "fingerprint"
        IP = "ip"
        EMAIL = "email"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # A card fingerprint, an IP address, or a lower-cased e-mail address.
    value = models.CharField(max_length=255)
    reason = models.CharField(max_length=255, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "blocklist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"], name="payments_blocklistentry_kind_value_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["fingerprint", "ip", "email"]),
                name="payments_blocklistentry_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
