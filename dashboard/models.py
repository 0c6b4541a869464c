"""The dashboard's daily figures: one row per day (UTC), merchant, currency and mode.

Rows are derived data, recomputed from the base tables by ``dashboard.services`` (a beat task
every minute over the days that can still change; ``refresh_dashboard`` for any range), never
written anywhere else. Each figure is counted on one day, said beside it:

- payments: the day a payment was created (its attempt); its authorization, decline and
  capture are counted on that same day, so a day's authorization rate is that of its attempts;
- refunds that succeeded: the day the refund was created;
- disputes opened: the day opened; won and lost: the day closed;
- webhook deliveries: the day the delivery was created, by its status now.
"""

from django.db import models

AMOUNT_MAX_DIGITS = 19
AMOUNT_DECIMAL_PLACES = 3


def _amount() -> models.DecimalField:
    return models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, default=0)


class PaymentDay(models.Model):
    day = models.DateField()
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    currency = models.CharField(max_length=3)
    livemode = models.BooleanField()
    payments_count = models.PositiveIntegerField(default=0)
    payments_amount = _amount()
    authorized_count = models.PositiveIntegerField(default=0)
    declined_count = models.PositiveIntegerField(default=0)
    captured_count = models.PositiveIntegerField(default=0)
    captured_amount = _amount()
    refunds_count = models.PositiveIntegerField(default=0)
    refunds_amount = _amount()
    disputes_opened = models.PositiveIntegerField(default=0)
    disputes_amount = _amount()
    disputes_won = models.PositiveIntegerField(default=0)
    disputes_lost = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "livemode", "currency", "merchant"], name="dashboard_paymentday_one_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.merchant_id} {self.currency}"


class DeliveryDay(models.Model):
    day = models.DateField()
    livemode = models.BooleanField()
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    abandoned = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "livemode"], name="dashboard_deliveryday_one_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} deliveries"
