"""The admin reads like a payments console: money in its currency's precision, the index by job,
search through indexes, changelists that never count, and a payment's whole story."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from moneyed import Money

from payments.models import Payment
from payments.services import payment_create
from payments.story import STORY_MAX_QUERIES, payment_story_get
from paysys.admin.changelist import UncountedChangeList
from paysys.events.models import WebhookDelivery
from paysys.events.webhook_services import webhook_deliver
from paysys.money import money_display
from tests.admin.conftest import PROJECT_APPS
from tests.payments.conftest import card

PAYMENTS_URL = reverse("admin:payments_payment_changelist")


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("25.000"), "EUR", "EUR 25.00"),
        (Decimal("1500.000"), "JPY", "JPY 1,500"),
        (Decimal("1.050"), "KWD", "KWD 1.050"),
        (Decimal("-1234567.100"), "EUR", "EUR -1,234,567.10"),
        (None, "EUR", ""),
        (Decimal("3.000"), "", "3.000"),
    ],
)
def test_money_shows_in_its_currency_precision(amount, currency, shown):
    assert money_display(amount, currency) == shown


def test_index_is_grouped_by_job_with_operator_names(world, superuser_client):
    client, _ = superuser_client
    page = client.get(reverse("admin:index")).content.decode()
    jobs = ["Payments and risk", "Merchants", "Money and settlements", "Ledger and audit", "System"]
    positions = [page.index(f">{job}<") for job in jobs]
    assert positions == sorted(positions)
    assert "Ledger entries" in page and "Webhook deliveries" in page and "API keys" in page
    assert "Entrys" not in page and "Deliverys" not in page


def test_payment_pages_show_money_in_its_precision(world, superuser_client):
    client, _ = superuser_client
    assert "EUR 30.00" in client.get(PAYMENTS_URL).content.decode()
    payment = Payment.objects.get(amount=Decimal("30.000"))
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert "EUR 30.00" in page and "EUR 5.00" in page
    assert "30.000" not in page


def _search(client, term: str) -> str:
    return client.get(PAYMENTS_URL, {"q": term}).content.decode()


def test_payment_found_by_id_email_last4_fingerprint_and_processor_reference(world, superuser_client):
    client, _ = superuser_client
    merchant = world["merchant"]
    payment = payment_create(
        merchant=merchant,
        amount=Money("12.34", "EUR"),
        card=card("4000056655665556"),
        receipt_email="Ann@Example.com",
    )
    other = world["disputed"]
    operation = payment.operations.first()
    for term in (
        payment.public_id,
        "ann@example.com",
        "5556",
        payment.payment_method.fingerprint,
        payment.processor_authorization,
        operation.reference,
    ):
        page = _search(client, term)
        assert payment.public_id in page, term
        assert other.public_id not in page, term
    assert payment.public_id not in _search(client, payment.public_id[:-1])


def test_changelist_with_many_rows_never_counts(world, superuser_client, monkeypatch):
    client, _ = superuser_client
    for _ in range(30):
        payment_create(merchant=world["merchant"], amount=Money("1.00", "EUR"), card=card())
    matching = Payment.objects.filter(status="succeeded", amount__gte=Decimal("0.5"), amount__lte=100).count()
    monkeypatch.setattr(admin.site._registry[Payment], "list_per_page", matching - 1)
    params = {
        "status": "succeeded",
        "merchant": world["merchant"].public_id,
        "currency": "eur",
        "amount__range__gte": "0.5",
        "amount__range__lte": "100",
        "created__range__gte": "2000-01-01",
    }
    with CaptureQueriesContext(connection) as first:
        response = client.get(PAYMENTS_URL, {**params, "p": "1"})
    page = response.content.decode()
    assert response.status_code == 200, page
    assert page.count('class="action-checkbox"') == matching - 1
    assert 'rel="next"' in page
    sql = [q["sql"].lower() for q in first.captured_queries]
    assert not [q for q in sql if "count(" in q]
    second = client.get(PAYMENTS_URL, {**params, "p": "2"}).content.decode()
    assert 'rel="prev"' in second and 'rel="next"' not in second
    # More rows do not mean more queries.
    for _ in range(10):
        payment_create(merchant=world["merchant"], amount=Money("1.00", "EUR"), card=card())
    with CaptureQueriesContext(connection) as again:
        client.get(PAYMENTS_URL, {**params, "p": "1"})
    assert len(again.captured_queries) == len(first.captured_queries)


# Every changelist of a table that grows with payments, merchants or days.
LARGE_CHANGELISTS = [
    "payments_payment",
    "payments_refund",
    "payments_dispute",
    "payments_topup",
    "payments_paymentmethod",
    "accounts_ledgeraccount",
    "accounts_hold",
    "accounts_transfer",
    "accounts_entry",
    "accounts_journaltransaction",
    "settlements_settlement",
    "settlements_settlementline",
    "settlements_payout",
    "events_event",
    "events_webhookendpoint",
    "events_webhookdelivery",
    "audit_auditevent",
]


def _scans(queries) -> list[str]:
    """The statements that read a whole table for a total or for a filter's choices."""
    sql = [q["sql"].lower() for q in queries.captured_queries]
    return [q for q in sql if "count(" in q or "distinct" in q]


@pytest.mark.parametrize("name", LARGE_CHANGELISTS)
def test_large_changelists_never_count_nor_read_distinct_values(world, superuser_client, monkeypatch, name):
    """One row a page: the next page is found by the extra row fetched, never by a count."""
    client, _ = superuser_client
    model, model_admin = next(
        (m, ma)
        for m, ma in admin.site._registry.items()
        if f"{m._meta.app_label}_{m._meta.model_name}" == name
    )
    rows = model._default_manager.count()
    assert rows, name
    monkeypatch.setattr(model_admin, "list_per_page", 1)
    url = reverse(f"admin:{name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, name
    assert isinstance(response.context["cl"], UncountedChangeList), name
    assert not _scans(queries), name
    assert len(response.context["cl"].result_list) == 1, name
    assert ('rel="next"' in response.content.decode()) == (rows > 1), name


def test_no_changelist_reads_distinct_values_for_its_filters(world, superuser_client):
    """Small tables may count their rows; no filter of any table reads a column's every value."""
    client, _ = superuser_client
    walked = 0
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label not in PROJECT_APPS:
            continue
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert response.status_code == 200, opts.label
        assert not [q for q in _scans(queries) if "distinct" in q], opts.label
        walked += 1
    assert walked >= 25


def test_payment_story_in_time_order_with_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    payment = Payment.objects.get(amount=Decimal("30.000"))
    delivery = WebhookDelivery.objects.filter(event__object_id=payment.public_id).order_by("id").first()
    webhook_deliver(delivery_id=delivery.pk)  # refused: nothing listens at the endpoint
    with django_assert_max_num_queries(STORY_MAX_QUERIES):
        story = payment_story_get(payment_id=payment.public_id)
    kinds = {item.kind for item in story.items}
    assert {"audit", "ledger", "refund", "operation", "event", "webhook"} <= kinds
    assert [item.at for item in story.items] == sorted(item.at for item in story.items)
    ledger = [item for item in story.items if item.kind == "ledger"]
    assert all(item.entries for item in ledger)
    assert {t.obj.reference for t in ledger} >= {f"capture:{payment.public_id}"}


def test_payment_story_page_links_records(world, superuser_client):
    client, _ = superuser_client
    payment = world["disputed"]
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert 'id="payment-story"' in page
    assert f"dispute:{payment.disputes.get().public_id}" in page
    assert f"?object={payment.public_id}" in page
    assert f"?payment={payment.public_id}" in page
    assert reverse("admin:payments_payment_history", args=[payment.pk]) in page
