"""The audit log: append-only, hash-chained, written in the same transaction as the change.

Append-only: on PostgreSQL a row trigger rejects UPDATE and DELETE of ``AuditEvent`` and a
statement trigger rejects TRUNCATE (migration 0002). Tamper-evident: every row belongs to one of
``AUDIT_CHAIN_COUNT`` chains (stripes) and carries its position ``seq`` in that chain, the hash of
the chain's previous row and its own SHA-256 over a canonical serialization of its fields plus
that previous hash (``paysys.audit.chain``). Editing a row breaks its hash, deleting one leaves a
gap in ``seq``; ``manage.py verify_audit`` walks every chain and reports both.

Emptied: every chain head exists from the first ``migrate`` on (``AuditConfig.ready``), so a
log whose heads are gone fails verification even when no row is left; and each nightly
verification stores how many rows it walked in ``AuditVerification`` (append-only too), so a
log holding fewer rows than a verification once counted fails as well.

Why stripes: one global chain head would be locked by every writer until commit, and every
ledger posting writes an audit row, so it would cap the whole system at one transaction at a
time. ``AuditChainHead`` holds one row per stripe (its last ``seq`` and hash); a writer locks
whichever stripe is free (``FOR UPDATE SKIP LOCKED``), so writers only ever wait for each other
when every stripe is busy. See ``paysys.audit.services`` and docs/decisions.md.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from paysys.audit.context import ACTOR_API, ACTOR_OPERATOR, ACTOR_SYSTEM
from paysys.ids import ID_MAX_LENGTH, new_id

AUDIT_ID_PREFIX = "aud"
# Fixed for the life of the table: more stripes can be added later, never removed.
AUDIT_CHAIN_COUNT = 64
HASH_LENGTH = 64  # SHA-256, hex
GENESIS_HASH = "0" * HASH_LENGTH
CORRELATION_ID_MAX_LENGTH = 64
IDEMPOTENCY_KEY_MAX_LENGTH = 255
EVENT_TYPE_MAX_LENGTH = 100
STATE_MAX_LENGTH = 64
OBJECT_TYPE_MAX_LENGTH = 64
ACTOR_ID_MAX_LENGTH = 128
REASON_CODE_MAX_LENGTH = 64


def new_audit_event_id() -> str:
    return new_id(AUDIT_ID_PREFIX)


class ActorType(models.TextChoices):
    API = ACTOR_API, "API key"
    OPERATOR = ACTOR_OPERATOR, "Operator"
    SYSTEM = ACTOR_SYSTEM, "System"


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_audit_event_id, editable=False)
    correlation_id = models.CharField(max_length=CORRELATION_ID_MAX_LENGTH, blank=True, default="")
    idempotency_key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH, blank=True, default="")
    event_type = models.CharField(max_length=EVENT_TYPE_MAX_LENGTH)
    previous_state = models.CharField(max_length=STATE_MAX_LENGTH, blank=True, default="")
    new_state = models.CharField(max_length=STATE_MAX_LENGTH, blank=True, default="")
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=ACTOR_ID_MAX_LENGTH, blank=True, default="")
    object_type = models.CharField(max_length=OBJECT_TYPE_MAX_LENGTH)
    object_id = models.CharField(max_length=ID_MAX_LENGTH)
    amount = models.DecimalField(max_digits=19, decimal_places=3, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    # The merchant's public id (``mer_...``): the platform must not import the merchants app.
    merchant_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    # Masked before it is stored (paysys.audit.context.ip_mask): the network, never the host.
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    reason_code = models.CharField(max_length=REASON_CODE_MAX_LENGTH, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created = models.DateTimeField(default=timezone.now, editable=False)
    # The chain: which stripe, the position in it (1, 2, 3, ... without gaps), the previous
    # row's hash (GENESIS_HASH for seq 1) and this row's hash.
    chain = models.PositiveSmallIntegerField(editable=False)
    seq = models.PositiveBigIntegerField(editable=False)
    prev_hash = models.CharField(max_length=HASH_LENGTH, editable=False)
    hash = models.CharField(max_length=HASH_LENGTH, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_auditevent_object_idx"),
            models.Index(fields=["merchant_id", "-id"], name="audit_auditevent_merchant_idx"),
            models.Index(fields=["correlation_id"], name="audit_auditevent_corr_idx"),
            models.Index(fields=["event_type"], name="audit_auditevent_type_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event_id"], name="audit_auditevent_event_id_unique"),
            # One row per position: a second writer of the same position fails, and verify_audit
            # can walk a chain by index.
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_auditevent_chain_seq_unique"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="audit_auditevent_seq_positive"),
            models.CheckConstraint(
                condition=Q(actor_type__in=[ACTOR_API, ACTOR_OPERATOR, ACTOR_SYSTEM]),
                name="audit_auditevent_actor_type_valid",
            ),
            models.CheckConstraint(condition=~Q(event_type=""), name="audit_auditevent_event_type_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.event_type} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """The last position and hash of one chain; its row lock serializes that chain's writers."""

    chain = models.PositiveSmallIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=HASH_LENGTH, default=GENESIS_HASH)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(chain__lt=AUDIT_CHAIN_COUNT), name="audit_auditchainhead_chain_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"chain {self.chain} at {self.seq}"


class AuditVerification(models.Model):
    """What one verification walked (the floor the log's row count never falls below), what it
    found wrong (the first problems, as ``verify_audit`` prints them) and how long it took."""

    created = models.DateTimeField(default=timezone.now, editable=False)
    ok = models.BooleanField()
    rows = models.PositiveBigIntegerField()
    chains = models.PositiveSmallIntegerField()
    heads_digest = models.CharField(max_length=HASH_LENGTH)
    failures = models.JSONField(default=list, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        permissions = [("run_auditverification", "Can run the audit log's verification now")]

    def __str__(self) -> str:
        return f"verification {self.pk} {'ok' if self.ok else 'FAILED'}: {self.rows} rows"
