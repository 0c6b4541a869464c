"""A dispute handled in the admin: evidence recorded, then submitted, through
``dispute_evidence_submit``, with the operator's reason; refused without the permission."""

import pytest
from django.urls import reverse

from payments.models import Dispute
from paysys.audit.models import AuditEvent
from tests.admin.conftest import staff_client

pytestmark = pytest.mark.django_db

VIEW = ["payments.view_dispute"]


def _evidence_url(dispute: Dispute) -> str:
    return reverse("admin:payments_dispute_evidence", args=[dispute.pk])


def test_risk_records_evidence_then_submits_it_audited_with_the_reason(world):
    dispute = Dispute.objects.get()
    client, user = staff_client(username="risk", perms=[*VIEW, "payments.close_dispute"])
    page = client.get(reverse("admin:payments_dispute_change", args=[dispute.pk]))
    assert _evidence_url(dispute).encode() in page.content

    saved = client.post(_evidence_url(dispute), {"evidence": "Signed delivery note", "reason": "draft"})
    assert saved.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.evidence_text, dispute.status) == ("Signed delivery note", "needs_response")

    submitted = client.post(
        _evidence_url(dispute),
        {
            "evidence": "Signed delivery note, tracking 1Z999",
            "submit_for_review": "on",
            "reason": "ticket 31",
        },
    )
    assert submitted.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == "under_review" and dispute.evidence_submitted_at is not None
    row = AuditEvent.objects.filter(object_id=dispute.public_id, new_state="under_review").get()
    assert (row.actor_type, row.actor_id, row.metadata["reason"]) == ("operator", str(user.pk), "ticket 31")

    # Submitted: the evidence can no longer change, and the page says why.
    late = client.post(_evidence_url(dispute), {"evidence": "something else", "reason": "late"})
    assert late.status_code == 200
    assert "evidence can no longer be changed" in late.content.decode()
    dispute.refresh_from_db()
    assert dispute.evidence_text == "Signed delivery note, tracking 1Z999"


def test_evidence_needs_a_reason(world):
    dispute = Dispute.objects.get()
    client, _ = staff_client(username="risk", perms=[*VIEW, "payments.close_dispute"])
    response = client.post(_evidence_url(dispute), {"evidence": "Signed delivery note", "reason": " "})
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    assert Dispute.objects.get(pk=dispute.pk).evidence_text == ""


def test_without_the_permission_evidence_is_refused(world):
    dispute = Dispute.objects.get()
    client, _ = staff_client(username="support", perms=VIEW)
    page = client.get(reverse("admin:payments_dispute_change", args=[dispute.pk]))
    assert page.status_code == 200 and _evidence_url(dispute).encode() not in page.content
    audited = AuditEvent.objects.count()
    response = client.post(_evidence_url(dispute), {"evidence": "crafted", "reason": "crafted"})
    assert response.status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).evidence_text == ""
    assert AuditEvent.objects.count() == audited
