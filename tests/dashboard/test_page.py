"""The dashboard page: every role sees it, log-in lands on it, its charts and counters link to
lists that open filtered, bad input is a clear 400, and its statements do not grow with data."""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.services import days_refresh, today
from payments.models import Payment
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from paysys.events.webhook_services.attempts import webhook_deliver
from paysys.money import money_display
from paysys.operators.roles import FINANCE, RISK, SUPPORT
from settlements.models import SettlementBatch
from tests.operators.people import PASSWORD, operator_create, totp_code

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"
# Session and user (2), the span's figures (3), the counters (10), the session saved (3).
EXPECTED_QUERIES = 17
CHARTS = {
    "payments",
    "authorization",
    "disputes",
    "webhooks",
    "volume-EUR",
    "refunds-EUR",
    "settled-EUR",
    "payouts-EUR",
}


def _links(html: str) -> dict[str, str]:
    """``data-chart`` / ``data-counter`` key → the href of its link."""
    found = {}
    for key, block in re.findall(
        r'data-(?:chart|counter)="([^"]+)"(.*?)(?=data-(?:chart|counter)=|\Z)', html, re.S
    ):
        href = re.search(r'<a (?:class="[^"]*" )?href="([^"]+)" data-list', block)
        if href:
            found[key] = unescape(href.group(1))
    return found


@pytest.fixture
def figures(world):
    """The admin's world, its settlement batch dated today (the world runs tomorrow's, which
    settles today's captures) and one webhook delivery tried (refused: nothing listens)."""
    SettlementBatch.objects.update(date=today())
    webhook_deliver(delivery_id=WebhookDelivery.objects.order_by("pk").first().pk)
    days_refresh()
    return world


@pytest.mark.parametrize("role", [SUPPORT, RISK, FINANCE])
def test_every_role_sees_the_dashboard_with_every_chart_drawn(figures, operator_client, role):
    client, _ = operator_client(role)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    drawn = set(re.findall(r'data-chart="([^"]+)" data-has-data="true"', html))
    assert drawn == CHARTS
    assert "<rect" in html and "<circle" in html and "<title>" in html
    captured = sum(p.amount_captured.amount for p in Payment.objects.filter(currency="EUR"))
    assert f"captured {money_display(captured, 'EUR')}</title>" in html  # in the currency's precision


def test_log_in_lands_on_the_dashboard(operator_roles, otp_required, client):
    user = operator_create(SUPPORT)
    response = client.get(reverse("admin:login") + "?next=/admin/")
    assert 'name="next" value="/admin/dashboard/"' in response.content.decode()
    form = {"username": user.username, "password": PASSWORD, "otp_token": totp_code(user)}
    response = client.post(reverse("admin:login"), {**form, "next": "/admin/dashboard/"})
    assert response.status_code == 302 and response["Location"] == URL
    # Another page asked for before log-in is still where the operator goes.
    other = operator_create(SUPPORT, username="support-2")
    form = {"username": other.username, "password": PASSWORD, "otp_token": totp_code(other)}
    response = Client().post(reverse("admin:login"), {**form, "next": "/admin/payments/payment/"})
    assert response.status_code == 302 and response["Location"] == "/admin/payments/payment/"


def test_the_index_links_to_the_dashboard(superuser_client):
    client, _ = superuser_client
    assert f'href="{URL}"' in client.get("/admin/").content.decode()


def test_every_link_opens_its_list_filtered(figures, superuser_client):
    client, _ = superuser_client
    links = _links(client.get(URL).content.decode())
    assert set(CHARTS) <= set(links)
    assert {
        "review",
        "disputes_due",
        "payouts_on_hold",
        "breaks",
        "adjustments",
        "undelivered",
        "verify_ledger",
        "verify_audit",
        "endpoints_failing",
    } <= set(links)
    # Both verifications lead to the ledger-health page, which shows the two results.
    health = reverse("admin:accounts_ledgerverification_health")
    assert links.pop("verify_ledger") == links.pop("verify_audit") == health
    assert client.get(health).status_code == 200
    for key, href in links.items():
        response = client.get(href)
        assert response.status_code == 200, (key, href)
        # The admin drops filters it does not know with a redirect to ?e=1; these stay.
        assert "e=1" not in response.request["QUERY_STRING"], (key, href)
        changelist = response.context["cl"]
        assert set(parse_qs(urlsplit(href).query)) <= set(changelist.params) | {"q"}, (key, href)
    failing = client.get(links["endpoints_failing"]).context["cl"]
    expected = WebhookEndpoint.objects.filter(status="enabled", failing_since__isnull=False)
    assert {e.pk for e in failing.result_list} == set(expected.values_list("pk", flat=True)) != set()
    review = client.get(links["review"]).context["cl"]
    assert [p.public_id for p in review.result_list] == [figures["review"].public_id]


def test_the_page_counts_what_calls_for_action(figures, superuser_client):
    client, _ = superuser_client
    html = client.get(URL).content.decode()
    value = dict(re.findall(r'data-counter="([^"]+)".*?dash-counter-value[^"]*">([^<]*)<', html, re.S))
    assert value["review"] == "1"
    assert value["adjustments"] == "1"
    assert value["breaks"] == "0"
    assert value["verify_ledger"] == "ok"
    assert value["verify_audit"] == "never run"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-13-01", "Enter a valid date."),
        ("start=2026-02-01&end=2026-01-01", "The span must start on or before its end."),
        ("start=2020-01-01&end=2022-01-01", "A span is at most 366 days."),
        ("end=2999-01-01", "The span cannot end after today"),
        ("mode=staging", "Select a valid choice."),
    ],
)
def test_bad_input_is_a_clear_400(superuser_client, query, message):
    client, _ = superuser_client
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert message in unescape(response.content.decode())


def test_a_chosen_span_is_shown(figures, superuser_client):
    client, _ = superuser_client
    html = client.get(f"{URL}?start=2026-01-01&end=2026-01-07&mode=live").content.decode()
    assert "2026-01-01 to 2026-01-07 (UTC), live mode." in html
    assert 'data-chart="payments" data-has-data="false"' in html


def test_the_statements_do_not_grow_with_the_data(world, superuser_client, merchant_factory):
    client, _ = superuser_client
    days_refresh()
    client.get(URL)  # the session and permissions, as on any warm page
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    more = merchant_factory(currency="USD", name="Second shop")
    from moneyed import Money

    from payments.services import payment_create
    from tests.payments.conftest import card

    for amount in (5, 6, 7):
        payment_create(merchant=more, amount=Money(amount, "USD"), card=card())
    days_refresh()
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200
    assert len(few) == len(many) == EXPECTED_QUERIES, [q["sql"][:120] for q in many]
