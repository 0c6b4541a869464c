"""Events: the transactional outbox.

Every state change a merchant can hear about writes one ``Event`` row in the same database
transaction as the change itself (``paysys.events.services.event_emit``), so an event exists
if and only if the change committed. Delivery (webhooks) reads these rows after commit; the
row is the truth, a lost queue message only delays a delivery.

``data`` holds ``{"object": {...}}``: the object exactly as the API showed it at that moment,
so a later change to the object never rewrites history. List order is the primary key
(newest first), never the random public id.
"""

from django.contrib.postgres.indexes import BrinIndex
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from paysys.audit.history import HistoricalRecords
from paysys.ids import ID_MAX_LENGTH, new_id

EVENT_ID_PREFIX = "evt"
EVENT_TYPE_MAX_LENGTH = 100
OBJECT_TYPE_MAX_LENGTH = 64
CORRELATION_ID_MAX_LENGTH = 64


def new_event_id() -> str:
    return new_id(EVENT_ID_PREFIX)


class Event(models.Model):
    TENANT_FIELDS = ("merchant_id", "livemode")  # see paysys.tenancy

    id = models.BigAutoField(primary_key=True)
    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_event_id, editable=False)
    type = models.CharField(max_length=EVENT_TYPE_MAX_LENGTH)
    # The merchant's public id (``mer_...``); a string, not a foreign key, because the platform
    # must not depend on the merchants app. Blank for platform-wide events.
    merchant_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    object_type = models.CharField(max_length=OBJECT_TYPE_MAX_LENGTH)
    # The public id of ``data["object"]``, copied out so an object's events are found by index.
    object_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    # DjangoJSONEncoder: datetimes and Decimals in a rendered object are stored as strings.
    data = models.JSONField(encoder=DjangoJSONEncoder)
    livemode = models.BooleanField(default=False)
    correlation_id = models.CharField(max_length=CORRELATION_ID_MAX_LENGTH, blank=True, default="")
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # A merchant's events, newest first, paged by primary key (GET /v1/events).
            models.Index(fields=["merchant_id", "-id"], name="events_event_merchant_id_idx"),
            # created[gte] / created[lt] filters and delivery sweeps by age.
            models.Index(fields=["merchant_id", "created"], name="events_event_merchant_created"),
            # The events of one object (admin detail pages, resend).
            models.Index(fields=["object_id"], name="events_event_object_idx"),
        ]
        constraints = [
            # A constraint rather than ``unique=True``: no extra LIKE index on the insert hot path.
            models.UniqueConstraint(fields=["public_id"], name="events_event_public_id_unique"),
            models.CheckConstraint(condition=~Q(type=""), name="events_event_type_not_empty"),
            models.CheckConstraint(condition=~Q(object_type=""), name="events_event_object_type_not_empty"),
            models.CheckConstraint(condition=Q(data__has_key="object"), name="events_event_data_has_object"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"


# --- Webhooks ------------------------------------------------------------------------------
# Endpoints, one delivery per (event, endpoint), one attempt row per HTTP POST. The delivery
# row is the truth about what is still owed: Celery messages only wake a worker up, and the
# sweeper (``paysys.events.webhook_sweep``) re-queues anything due whose message was lost.
# Design: ``paysys/events/webhook_services/``; signing: ``signing.py``; the SSRF guard: ``ssrf.py``.

WEBHOOK_ENDPOINT_ID_PREFIX = "we"
WEBHOOK_DELIVERY_ID_PREFIX = "whd"
WEBHOOK_URL_MAX_LENGTH = 2048
WEBHOOK_DESCRIPTION_MAX_LENGTH = 500
WEBHOOK_REASON_MAX_LENGTH = 32
WEBHOOK_RESPONSE_EXCERPT_MAX_LENGTH = 1024
WEBHOOK_ERROR_MAX_LENGTH = 500
WEBHOOK_OUTCOME_MAX_LENGTH = 16


def new_webhook_endpoint_id() -> str:
    return new_id(WEBHOOK_ENDPOINT_ID_PREFIX)


def new_webhook_delivery_id() -> str:
    return new_id(WEBHOOK_DELIVERY_ID_PREFIX)


class WebhookEndpoint(models.Model):
    class Status(models.TextChoices):
        ENABLED = "enabled"
        DISABLED = "disabled"

    class DisabledReason(models.TextChoices):
        NONE = ""
        MERCHANT = "merchant"  # PATCH status=disabled
        OPERATOR = "operator"
        GONE = "gone"  # the endpoint answered 410
        FAILING = "failing"  # every attempt failed for WEBHOOK_DISABLE_AFTER

    TENANT_FIELDS = ("merchant_id", "livemode")

    id = models.BigAutoField(primary_key=True)
    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_webhook_endpoint_id, editable=False)
    merchant_id = models.CharField(max_length=ID_MAX_LENGTH)
    url = models.CharField(max_length=WEBHOOK_URL_MAX_LENGTH)
    description = models.CharField(max_length=WEBHOOK_DESCRIPTION_MAX_LENGTH, blank=True, default="")
    # Event types, or ["*"] for every type.
    enabled_events = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ENABLED)
    disabled_reason = models.CharField(
        max_length=WEBHOOK_REASON_MAX_LENGTH, choices=DisabledReason.choices, blank=True, default=""
    )
    # Fernet tokens (paysys.events.signing): a signing secret cannot be hashed, so it is encrypted.
    secret_encrypted = models.TextField()
    # After a rotation the old secret also signs until ``previous_secret_expires_at``.
    previous_secret_encrypted = models.TextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Set by the first failed attempt after a success, cleared by the next success.
    failing_since = models.DateTimeField(null=True, blank=True)
    livemode = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    updated = models.DateTimeField(auto_now=True)
    # DELETE keeps the row (its deliveries and attempts stay readable to operators).
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Who changed what and when (operators, merchants); secrets never enter the history table.
    history = HistoricalRecords(
        excluded_fields=["secret_encrypted", "previous_secret_encrypted", "updated"],
        table_name="events_webhookendpoint_history",
    )

    class Meta:
        ordering = ["-id"]
        permissions = [("reenable_webhookendpoint", "Can re-enable a disabled webhook endpoint")]
        indexes = [
            models.Index(fields=["merchant_id", "-id"], name="events_whendpoint_merchant_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="events_webhookendpoint_public_id_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["enabled", "disabled"]), name="events_webhookendpoint_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="enabled", disabled_reason="") | Q(status="disabled"),
                name="events_webhookendpoint_enabled_has_no_reason",
            ),
            models.CheckConstraint(condition=~Q(merchant_id=""), name="events_webhookendpoint_merchant_set"),
            models.CheckConstraint(
                condition=~Q(secret_encrypted=""), name="events_webhookendpoint_secret_set"
            ),
            models.CheckConstraint(
                condition=Q(previous_secret_encrypted="", previous_secret_expires_at__isnull=True)
                | (~Q(previous_secret_encrypted="") & Q(previous_secret_expires_at__isnull=False)),
                name="events_webhookendpoint_previous_secret_expires",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.url}"


class WebhookDelivery(models.Model):
    """What is owed to one endpoint for one event; retried until it succeeds or is abandoned."""

    # The endpoint's mode, which is its event's (fan-out matches modes).
    TENANT_FIELDS = ("endpoint__merchant_id", "endpoint__livemode")

    class Status(models.TextChoices):
        PENDING = "pending"  # not tried yet (or re-sent)
        FAILED = "failed"  # the last attempt failed; the next is at ``next_attempt_at``
        SUCCEEDED = "succeeded"
        ABANDONED = "abandoned"  # schedule exhausted, or the endpoint disabled or deleted

    id = models.BigAutoField(primary_key=True)
    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_webhook_delivery_id, editable=False)
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="webhook_deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Attempts since the delivery was created or last re-sent (the retry schedule's position).
    attempt_count = models.PositiveIntegerField(default=0)
    # When the next attempt is due; null once the delivery is finished.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a Celery message was last sent for it; the sweeper re-sends one that looks lost.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-id"]
        permissions = [("resend_webhookdelivery", "Can resend a webhook delivery")]
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="events_whdelivery_endpoint_idx"),
            # The sweeper's scan: only unfinished deliveries, by due time.
            models.Index(
                fields=["next_attempt_at"],
                name="events_whdelivery_due_idx",
                condition=Q(status__in=["pending", "failed"]),
            ),
            # Deliveries of a span of days (the dashboard's figures): rows arrive in time order,
            # so a BRIN index is a few pages and costs an insert next to nothing.
            BrinIndex(fields=["created"], name="events_whdelivery_created_brin"),
            # The oldest delivery still owed (the dashboard's counter): unfinished rows only.
            models.Index(
                fields=["created"],
                name="events_whdelivery_owed_idx",
                condition=Q(status__in=["pending", "failed"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="events_webhookdelivery_event_endpoint_unique"
            ),
            models.UniqueConstraint(fields=["public_id"], name="events_webhookdelivery_public_id_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "failed", "succeeded", "abandoned"]),
                name="events_webhookdelivery_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["succeeded", "abandoned"]) | Q(next_attempt_at__isnull=False),
                name="events_webhookdelivery_unfinished_is_scheduled",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "failed"]) | Q(next_attempt_at__isnull=True),
                name="events_webhookdelivery_finished_is_unscheduled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"


class WebhookAttempt(models.Model):
    """One HTTP POST of a delivery, as it happened. Never updated."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="attempts")
    # succeeded / failed / timeout / refused (the SSRF guard refused the address)
    outcome = models.CharField(max_length=WEBHOOK_OUTCOME_MAX_LENGTH)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    # At most 1 KB of the response body (max_length makes it a varchar(1024) in the database).
    response_excerpt = models.CharField(
        max_length=WEBHOOK_RESPONSE_EXCERPT_MAX_LENGTH, blank=True, default=""
    )
    error = models.CharField(max_length=WEBHOOK_ERROR_MAX_LENGTH, blank=True, default="")
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["delivery", "-id"], name="events_whattempt_delivery_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["succeeded", "failed", "timeout", "refused"]),
                name="events_webhookattempt_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.outcome} {self.status_code}"
