"""bench/transfer_statements.sql replays what transfer_create sends: keep the two in step."""

import re
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from accounts.models import Entry, JournalTransaction, Transfer
from accounts.services import transfer_create
from paysys.audit.models import AuditEvent
from paysys.events.models import Event
from tests.accounts.conftest import MERCHANT

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "transfer_statements.sql"
TRANSACTION_CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b", re.IGNORECASE)


def statement_shape(sql: str) -> tuple:
    """What a statement does to which tables: inserts, updates and row locks in order, or the
    table a plain read starts from."""
    sql = sql.replace('"', "")
    writes = [
        (verb.split()[0].lower(), table)
        for verb, table in re.findall(r"\b(INSERT INTO|UPDATE) (\w+)(?: AS \w+)? (?:\(|SET)", sql)
    ]
    locks = [("lock",) for _ in re.findall(r"\bFOR (?:NO KEY )?UPDATE\b", sql)]
    if writes or locks:
        return (*writes, *locks)
    return (("read", re.search(r"\bFROM (\w+)", sql).group(1)),)


def script_statements() -> list[str]:
    lines = [line for line in SCRIPT.read_text().splitlines() if line and not line.startswith(("--", "\\"))]
    return [line.split(" \\gset")[0] for line in lines if not TRANSACTION_CONTROL.match(line)]


def test_the_replay_script_sends_the_statements_of_transfer_create(
    wallet_factory, django_capture_on_commit_callbacks
):
    source, destination = wallet_factory(funded="10.00"), wallet_factory()
    tables = (JournalTransaction, Entry, Transfer, Transfer.history.model, AuditEvent, Event)
    before = [model.objects.count() for model in tables]
    with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
        transfer_create(
            merchant_id=MERCHANT,
            from_account_id=source.pk,
            to_account_id=destination.pk,
            amount=Money("1.00", "EUR"),
        )
    service = [q["sql"] for q in captured.captured_queries if not TRANSACTION_CONTROL.match(q["sql"].strip())]

    assert [statement_shape(sql) for sql in script_statements()] == [statement_shape(sql) for sql in service]
    # The shapes are not vacuous: the one call wrote the posting, the transfer, its history,
    # audit and outbox rows.
    assert statement_shape(service[0]) == (("read", "ledger_transfer_create"),)
    assert [model.objects.count() - count for model, count in zip(tables, before, strict=True)] == [
        1,
        2,
        1,
        1,
        1,
        1,
    ]
