"""The risk blocklist's writes: values stored as risk matches them, every change audited with the
operator and the reason, in the service and through the admin."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from moneyed import Money

from payments.cards import card_fingerprint
from payments.models import BlocklistEntry
from payments.services import blocklist_entry_add, blocklist_entry_remove, payment_create
from paysys.audit.models import AuditEvent
from paysys.errors import ConflictError, InvalidRequestError
from tests.admin.conftest import staff_client
from tests.payments.conftest import card

pytestmark = pytest.mark.django_db

EUR10 = Money("10.00", "EUR")


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        ("email", "  Fraud@Example.COM ", "fraud@example.com"),
        ("ip", " 2001:DB8:0:0::1 ", "2001:db8::1"),
        ("ip", "203.0.113.9", "203.0.113.9"),
        ("fingerprint", "ABCDEF0123456789ABCDEF0123456789", "abcdef0123456789abcdef0123456789"),
    ],
)
def test_a_value_is_stored_as_risk_matches_it(kind, typed, stored):
    entry = blocklist_entry_add(kind=kind, value=typed, reason="chargeback ring", operator_id="7")
    assert BlocklistEntry.objects.get(pk=entry.pk).value == stored
    row = AuditEvent.objects.get(event_type="blocklist.entry_added")
    assert (row.actor_type, row.actor_id, row.object_id) == ("operator", "7", str(entry.pk))
    assert row.metadata == {"kind": kind, "reason": "chargeback ring"}
    assert stored not in str(row.metadata)  # the value stays out of the append-only log


@pytest.mark.parametrize(
    ("kind", "value"),
    [("email", "no-at-sign"), ("email", "@"), ("ip", "300.1.1.1"), ("fingerprint", "xyz"), ("card", "1")],
)
def test_a_value_risk_could_never_match_is_refused(kind, value):
    with pytest.raises(InvalidRequestError):
        blocklist_entry_add(kind=kind, value=value, reason="r", operator_id="7")
    assert not BlocklistEntry.objects.exists() and not AuditEvent.objects.exists()


def test_the_same_value_typed_twice_is_one_entry():
    blocklist_entry_add(kind="email", value="fraud@example.com", reason="r", operator_id="7")
    with pytest.raises(ConflictError):
        blocklist_entry_add(kind="email", value="FRAUD@example.com", reason="r", operator_id="7")
    assert BlocklistEntry.objects.count() == 1


def test_an_entry_needs_a_reason():
    with pytest.raises(InvalidRequestError) as info:
        blocklist_entry_add(kind="ip", value="203.0.113.9", reason="  ", operator_id="7")
    assert info.value.param == "reason"


def test_an_entry_typed_loosely_still_sends_the_payment_to_review(merchant):
    blocklist_entry_add(kind="email", value=" Fraud@Example.com", reason="r", operator_id="7")
    blocklist_entry_add(kind="ip", value="2001:DB8::0:9", reason="r", operator_id="7")
    fingerprint = card_fingerprint("5555555555554444").upper()
    blocklist_entry_add(kind="fingerprint", value=fingerprint, reason="r", operator_id="7")

    by_email = payment_create(merchant=merchant, amount=EUR10, card=card(), receipt_email="fraud@example.com")
    by_ip = payment_create(merchant=merchant, amount=EUR10, card=card(), ip="2001:db8::9")
    by_card = payment_create(merchant=merchant, amount=EUR10, card=card("5555555555554444"))

    assert "blocklisted_email" in by_email.risk_reasons
    assert "blocklisted_ip" in by_ip.risk_reasons
    assert "blocklisted_fingerprint" in by_card.risk_reasons


def test_removing_an_entry_deletes_it_audited_and_risk_stops_matching(merchant):
    entry = blocklist_entry_add(kind="ip", value="203.0.113.9", reason="r", operator_id="7")
    blocklist_entry_remove(entry_id=entry.pk, reason="false positive, ticket 9", operator_id="8")
    assert not BlocklistEntry.objects.exists()
    row = AuditEvent.objects.get(event_type="blocklist.entry_removed")
    assert (row.actor_id, row.metadata["reason"], row.new_state) == (
        "8",
        "false positive, ticket 9",
        "removed",
    )
    assert BlocklistEntry.history.filter(id=entry.pk, history_type="-").get().history_change_reason == (
        "false positive, ticket 9"
    )
    clean = payment_create(merchant=merchant, amount=EUR10, card=card(), ip="203.0.113.9")
    assert "blocklisted_ip" not in clean.risk_reasons


def _risk_client():
    return staff_client(
        username="risk",
        perms=[
            "payments.view_blocklistentry",
            "payments.add_blocklistentry",
            "payments.change_blocklistentry",
        ],
    )


def test_the_admin_adds_an_entry_through_the_service_normalised_and_audited():
    client, user = _risk_client()
    add = reverse("admin:payments_blocklistentry_add")
    response = client.post(add, {"kind": "email", "value": " Fraud@Example.com ", "reason": "ring"})
    assert response.status_code == 302
    entry = BlocklistEntry.objects.get()
    assert entry.value == "fraud@example.com"
    row = AuditEvent.objects.get(event_type="blocklist.entry_added")
    assert (row.actor_type, row.actor_id, row.metadata["reason"]) == ("operator", str(user.pk), "ring")

    again = client.post(add, {"kind": "email", "value": "FRAUD@example.com", "reason": "again"})
    assert again.status_code == 200 and again.context["adminform"].form.errors
    bad = client.post(add, {"kind": "ip", "value": "not an ip", "reason": "typo"})
    assert "is not an IP address" in bad.context["adminform"].form.errors["value"][0]
    assert BlocklistEntry.objects.count() == 1


def test_the_admin_never_edits_an_entry():
    entry = blocklist_entry_add(kind="ip", value="203.0.113.9", reason="r", operator_id="7")
    client, _ = _risk_client()
    change = reverse("admin:payments_blocklistentry_change", args=[entry.pk])
    client.post(change, {"kind": "ip", "value": "198.51.100.1", "reason": "edited"})
    assert BlocklistEntry.objects.get(pk=entry.pk).value == "203.0.113.9"


def test_the_admin_removes_an_entry_with_a_reason():
    entry = blocklist_entry_add(kind="ip", value="203.0.113.9", reason="r", operator_id="7")
    client, user = _risk_client()
    client.post(
        reverse("admin:payments_blocklistentry_changelist"),
        {"action": "remove", ACTION_CHECKBOX_NAME: [entry.pk], "confirm": "yes", "reason": "false positive"},
    )
    assert not BlocklistEntry.objects.exists()
    row = AuditEvent.objects.get(event_type="blocklist.entry_removed")
    assert (row.actor_id, row.metadata["reason"]) == (str(user.pk), "false positive")
