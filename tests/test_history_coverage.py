"""Every model of the project either keeps django-simple-history records or says here why not.

A new model fails this test until it chooses; docs/decisions.md ("History: simple-history on
every mutable model, except ...") gives the reasoning.
"""

from django.apps import apps

PROJECT_APPS = {
    "accounts",
    "merchants",
    "payments",
    "settlements",
    "audit",
    "events",
    "idempotency",
    "dashboard",
}

# Models without history records, each with the reason.
WITHOUT_HISTORY = {
    # Append-only: never updated (triggers or services refuse), so each row is its own history.
    "audit.AuditEvent": "append-only, hash-chained",
    "events.Event": "append-only outbox row",
    "events.WebhookAttempt": "append-only, one per delivery attempt",
    "accounts.JournalTransaction": "append-only; a reversal is a new transaction",
    "accounts.Entry": "immutable (trigger)",
    "accounts.LedgerVerification": "append-only result of a verify_ledger run",
    "audit.AuditVerification": "append-only count of a verify_audit run",
    "payments.PaymentMethod": "written once at tokenization, never changed",
    "payments.TopUp": "written once with its payment, never changed: its status is its payment's",
    "settlements.SettlementLine": "written once with its settlement's posting, never changed",
    # Mutable, but their own append-only rows already are their history.
    "accounts.LedgerBalanceShard": "running sum of its entries, each with balance_after",
    "audit.AuditChainHead": "pointer to the last row of its chain: the chain is the history",
    "events.WebhookDelivery": "its WebhookAttempt rows record every attempt",
    "payments.ProcessorOperation": "pending -> answered once; the payment's history and audit rows record the outcome",
    "idempotency.IdempotencyKey": "a cache of responses pruned after 24 h, not business state",
    "payments.ProcessorBreak": "recomputed by each reconciliation run, which leaves an audit row with its counts",
    # Derived figures, recomputed from the base tables (which keep their own history).
    "dashboard.PaymentDay": "daily figures recomputed from payments, refunds and disputes",
    "dashboard.DeliveryDay": "daily figures recomputed from webhook deliveries",
    "settlements.EntryWatermark": "derived from the settlement lines (the lowest unsettled entry id)",
}


def _label(model) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def test_every_model_keeps_history_or_says_why_not():
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in PROJECT_APPS and not m.__name__.startswith("Historical")
    ]
    tracked = {_label(m) for m in models if hasattr(m, "history")}
    untracked = {_label(m) for m in models if not hasattr(m, "history")}
    assert untracked - set(WITHOUT_HISTORY) == set(), "add history or a reason here"
    assert set(WITHOUT_HISTORY) - untracked == set(), "listed here but tracked (or gone)"
    assert {"merchants.Merchant", "payments.Payment", "accounts.LedgerAccount"} <= tracked


def test_history_tables_are_lean_and_managers_are_built_once():
    """paysys.audit.history.HistoricalRecords: one manager class behind Model.history, still
    scoped to the instance; no index in a history table but the object's id and
    simple-history's own (history_date, history_user)."""
    from accounts.models import Transfer

    models = [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS and hasattr(m, "history")]
    for model in models:
        assert type(model.history) is type(model.history), _label(model)
        indexed = {f.name for f in model.history.model._meta.fields if f.db_index and not f.primary_key}
        assert indexed == {"id", "history_date", "history_user"}, (_label(model), indexed)
    transfer = Transfer(pk=41)
    assert transfer.history.instance is transfer
    assert transfer.history.all().query.where.children[0].rhs == 41
