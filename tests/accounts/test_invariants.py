"""The database enforces the ledger's rules even against raw SQL, and verify_ledger finds
anything that slipped past (e.g. rows written with the triggers disabled)."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from moneyed import Money

from accounts.models import Entry, JournalTransaction, LedgerVerification
from accounts.services import PostingLine, ledger_post
from accounts.tasks import ledger_verify_task
from tests.accounts.conftest import fund


@pytest.fixture
def posted_entry(wallet_factory):
    wallet = wallet_factory()
    fund(wallet, Decimal("10.00"))
    return Entry.objects.get(account=wallet)


def test_raw_update_of_an_entry_fails(posted_entry):
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE accounts_entry SET amount = 999 WHERE id = %s", [posted_entry.pk])
    posted_entry.refresh_from_db()
    assert posted_entry.amount == Decimal("10.000")


def test_raw_delete_of_an_entry_fails(posted_entry):
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM accounts_entry WHERE id = %s", [posted_entry.pk])
    assert Entry.objects.filter(pk=posted_entry.pk).exists()


def test_raw_update_of_a_journal_transaction_fails(posted_entry):
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE accounts_journaltransaction SET reference = 'x' WHERE id = %s",
            [posted_entry.transaction_id],
        )


def test_truncate_of_entries_fails(posted_entry):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the fixture's pending commit checks now
    with pytest.raises(IntegrityError, match="TRUNCATE"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('paysys.audit_truncate_allowed', 'off', true)")
        cursor.execute("TRUNCATE accounts_entry CASCADE")
    assert Entry.objects.filter(pk=posted_entry.pk).exists()


def _raw_entries(transaction_id: int, lines: list[tuple[int, str]]) -> None:
    with connection.cursor() as cursor:
        for account_id, amount in lines:
            cursor.execute(
                "INSERT INTO accounts_entry (transaction_id, account_id, amount, currency, created)"
                " VALUES (%s, %s, %s, 'EUR', now())",
                [transaction_id, account_id, amount],
            )
        # The constraint trigger is deferred to commit; make "commit" happen now, inside the test.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_unbalanced_entries_are_rejected_at_commit(wallet_factory):
    a, b = wallet_factory(), wallet_factory()
    txn = JournalTransaction.objects.create(kind="adjustment", reference="raw-unbalanced")
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        _raw_entries(txn.pk, [(a.pk, "5.000"), (b.pk, "-4.000")])


@pytest.mark.django_db
@pytest.mark.ledger_corrupted  # entries without stored balances: the commit check passes, verify_ledger does not
def test_balanced_raw_entries_pass_the_commit_check(wallet_factory):
    a, b = wallet_factory(), wallet_factory()
    txn = JournalTransaction.objects.create(kind="adjustment", reference="raw-balanced")
    with transaction.atomic():
        _raw_entries(txn.pk, [(a.pk, "5.000"), (b.pk, "-5.000")])
    assert Entry.objects.filter(transaction=txn).count() == 2


def test_verify_ledger_passes_on_a_healthy_ledger_and_stores_its_result(wallet_factory):
    a, b = wallet_factory(funded="100.00"), wallet_factory()
    ledger_post(
        reference="t1",
        kind="transfer",
        lines=[PostingLine(a.pk, Money(-30, "EUR")), PostingLine(b.pk, Money(30, "EUR"))],
    )
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    assert "ledger OK" in out.getvalue()
    assert ledger_verify_task() is True
    stored = LedgerVerification.objects.get()
    assert stored.ok and stored.summary["entries"] == 4


@pytest.mark.ledger_corrupted
def test_verify_ledger_exits_1_listing_rows_written_behind_the_triggers(wallet_factory):
    a, b = wallet_factory(), wallet_factory()
    txn = JournalTransaction.objects.create(kind="adjustment", reference="tampered")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the fixture's pending commit checks now
        # Someone with the power to disable triggers writes an unbalanced, unbacked entry.
        cursor.execute("ALTER TABLE accounts_entry DISABLE TRIGGER USER")
        cursor.execute(
            "INSERT INTO accounts_entry (transaction_id, account_id, amount, currency, created)"
            " VALUES (%s, %s, -7, 'EUR', %s)",
            [txn.pk, a.pk, timezone.now()],
        )
        cursor.execute("ALTER TABLE accounts_entry ENABLE TRIGGER USER")
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("verify_ledger", "--json", stdout=out)
    assert exc.value.returncode == 1
    report = json.loads(out.getvalue())
    checks = {row["check"] for row in report["failing_rows"]}
    assert {"transaction_unbalanced", "balance_differs_from_entries"} <= checks
    assert not report["ok"]
    assert b  # untouched account does not appear
    assert all(row.get("account") != b.public_id for row in report["failing_rows"])
