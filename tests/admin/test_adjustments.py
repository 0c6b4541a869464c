"""Maker-checker in the admin: a finance operator proposes with the add form, another approves;
the proposer's own approval, even as a crafted POST, and anyone without the permission post nothing."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AccountKind, Adjustment, JournalTransaction, LedgerAccount
from accounts.services import platform_account_get
from paysys.audit.models import AuditEvent
from tests.admin.conftest import staff_client

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_adjustment_changelist"
ADD = "admin:accounts_adjustment_add"
FINANCE = ["accounts.view_adjustment", "accounts.propose_adjustment", "accounts.approve_adjustment"]


def _proposal(*, currency="EUR", amount="4.00", reason="ticket 31: double fee"):
    debit = platform_account_get(kind=AccountKind.ADJUSTMENTS, currency="EUR")
    credit = LedgerAccount.objects.filter(kind="wallet").order_by("pk").first()
    return {
        "debit_account": debit.pk,
        "credit_account": credit.pk,
        "amount_0": amount,
        "amount_1": currency,
        "reason": reason,
    }


def _decide(client, adjustment, action, reason="checked the ticket"):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, ACTION_CHECKBOX_NAME: [adjustment.pk], "confirm": "yes", "reason": reason},
    )


def _posted_for(adjustment) -> int:
    return JournalTransaction.objects.filter(reference=f"adjustment:{adjustment.public_id}").count()


def test_one_operator_proposes_and_another_approves_it(world):
    maker, maker_user = staff_client(username="finance-a", perms=FINANCE)
    checker, checker_user = staff_client(username="finance-b", perms=FINANCE)
    response = maker.post(reverse(ADD), _proposal())
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    adjustment = Adjustment.objects.get(proposed_by=maker_user)
    assert (adjustment.status, str(adjustment.amount.currency), adjustment.amount.amount) == (
        "proposed",
        "EUR",
        4,
    )
    assert _posted_for(adjustment) == 0
    proposed = AuditEvent.objects.get(object_id=adjustment.public_id, event_type="ledger.adjustment.proposed")
    assert (proposed.actor_type, proposed.actor_id) == ("operator", str(maker_user.pk))

    assert _decide(checker, adjustment, "approve").status_code == 302
    adjustment.refresh_from_db()
    assert (adjustment.status, adjustment.decided_by_id) == ("approved", checker_user.pk)
    assert _posted_for(adjustment) == 1
    page = checker.get(reverse("admin:accounts_adjustment_change", args=[adjustment.pk]))
    assert page.status_code == 200 and adjustment.transaction.public_id.encode() in page.content


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_the_proposers_crafted_post_decides_nothing(world, action):
    client, user = staff_client(username="finance-a", perms=FINANCE)
    client.post(reverse(ADD), _proposal())
    adjustment = Adjustment.objects.get(proposed_by=user)
    response = _decide(client, adjustment, action)
    assert response.status_code == 302
    errors = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("another operator must approve or reject" in m for m in errors), errors
    adjustment.refresh_from_db()
    assert (adjustment.status, adjustment.decided_by_id) == ("proposed", None)
    assert _posted_for(adjustment) == 0


def test_without_the_approve_permission_a_crafted_post_decides_nothing(world):
    client, _ = staff_client(username="proposer-only", perms=FINANCE[:2])
    adjustment = world["adjustment"]
    response = _decide(client, adjustment, "approve")
    assert response.status_code in {200, 302}
    adjustment.refresh_from_db()
    assert adjustment.status == "proposed" and _posted_for(adjustment) == 0


def test_without_the_propose_permission_there_is_no_add_form(world):
    client, _ = staff_client(
        username="checker-only", perms=["accounts.view_adjustment", "accounts.approve_adjustment"]
    )
    assert client.get(reverse(ADD)).status_code == 403
    assert client.post(reverse(ADD), _proposal()).status_code == 403
    assert Adjustment.objects.count() == 1  # the world's


def test_a_proposal_that_could_never_post_is_refused_with_the_reason(world):
    client, _ = staff_client(username="finance-a", perms=FINANCE)
    proposal = _proposal()
    response = client.post(reverse(ADD), {**proposal, "debit_account": proposal["credit_account"]})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"credit_account": ["An adjustment moves money between two different accounts."]}
    assert Adjustment.objects.count() == 1


def test_no_one_edits_an_adjustment_in_the_admin(world, superuser_client):
    client, _ = superuser_client
    adjustment = world["adjustment"]
    url = reverse("admin:accounts_adjustment_change", args=[adjustment.pk])
    response = client.post(url, {**_proposal(amount="999.00"), "_save": "Save"})
    assert response.status_code == 403
    adjustment.refresh_from_db()
    assert adjustment.amount.amount == 1.5
