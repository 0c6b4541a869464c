"""The hash chains: every row links to the one before it, and verify_audit finds any change."""

import io
import itertools
import logging
import threading
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paysys.audit.chain import audit_row_hash
from paysys.audit.models import (
    AUDIT_CHAIN_COUNT,
    GENESIS_HASH,
    AuditChainHead,
    AuditEvent,
    AuditVerification,
)
from paysys.audit.selectors import audit_chain_verify
from paysys.audit.services import AuditRecordError, audit_chain_heads_ensure, audit_record, audit_verify
from paysys.correlation import correlation_scope


def _record(i: int = 0, **kwargs) -> AuditEvent:
    return audit_record(
        event_type="transfer.created",
        object_type="transfer",
        object_id=f"tr_{i}",
        amount=Decimal("12.340"),
        currency="eur",
        merchant_id="mer_a",
        **kwargs,
    )


def _verify_audit() -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as exc:
        assert exc.returncode == 1
        return False, out.getvalue() + str(exc)
    return True, out.getvalue()


def _without_triggers(sql: str, params=None) -> None:
    """Change a row the way someone with database access would: triggers off."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_rows_under_one_correlation_id_form_a_linked_chain():
    with correlation_scope("cor_chain"):
        rows = [_record(i) for i in range(5)]
    assert {r.chain for r in rows} == {rows[0].chain}
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash
    stored = AuditEvent.objects.get(pk=rows[-1].pk)
    values = {f.attname: getattr(stored, f.attname) for f in AuditEvent._meta.concrete_fields}
    assert audit_row_hash(values) == stored.hash
    head = AuditChainHead.objects.get(chain=rows[0].chain)
    assert (head.seq, head.hash) == (5, rows[-1].hash)
    assert _verify_audit()[0]


@pytest.mark.django_db
def test_verify_audit_passes_and_summarises_an_intact_log():
    for i in range(10):
        _record(i)
    ok, output = _verify_audit()
    assert ok
    assert "10 rows" in output


@pytest.mark.django_db
def test_verify_audit_reports_a_tampered_row():
    with correlation_scope("cor_tamper"):
        rows = [_record(i) for i in range(3)]
    _without_triggers("UPDATE audit_auditevent SET amount = 1.000 WHERE id = %s", [rows[1].pk])

    ok, output = _verify_audit()
    assert not ok
    assert f"tampered: chain={rows[1].chain} seq=2 event_id={rows[1].event_id}" in output
    report = audit_chain_verify()
    assert [(p.kind, p.event_id) for p in report.problems] == [("tampered", rows[1].event_id)]


@pytest.mark.django_db
def test_a_stored_verification_keeps_the_problems_it_found_and_its_duration():
    with correlation_scope("cor_stored"):
        rows = [_record(i) for i in range(3)]
    audit_verify()
    _without_triggers("UPDATE audit_auditevent SET amount = 1.000 WHERE id = %s", [rows[1].pk])

    audit_verify()

    intact, tampered = AuditVerification.objects.order_by("id")
    assert (intact.ok, intact.failures) == (True, [])
    assert not tampered.ok
    assert [(f["kind"], f["chain"], f["seq"], f["event_id"]) for f in tampered.failures] == [
        ("tampered", rows[1].chain, 2, rows[1].event_id)
    ]


@pytest.mark.django_db
def test_verify_audit_reports_a_rehashed_row_as_a_broken_link():
    with correlation_scope("cor_rehash"):
        rows = [_record(i) for i in range(3)]
    forged = AuditEvent.objects.get(pk=rows[1].pk)
    forged.reason_code = "forged"
    values = {f.attname: getattr(forged, f.attname) for f in AuditEvent._meta.concrete_fields}
    _without_triggers(
        "UPDATE audit_auditevent SET reason_code = 'forged', hash = %s WHERE id = %s",
        [audit_row_hash(values), rows[1].pk],
    )
    kinds = {(p.kind, p.seq) for p in audit_chain_verify().problems}
    assert ("broken_link", 3) in kinds


@pytest.mark.django_db
def test_verify_audit_reports_a_deleted_row_as_a_gap():
    with correlation_scope("cor_gap"):
        rows = [_record(i) for i in range(4)]
    _without_triggers("DELETE FROM audit_auditevent WHERE id = %s", [rows[1].pk])

    ok, output = _verify_audit()
    assert not ok
    assert f"gap: chain={rows[0].chain} seq=3" in output
    assert "positions 2..2 are missing" in output


@pytest.mark.django_db
def test_verify_audit_reports_deleted_last_rows_against_the_chain_head():
    with correlation_scope("cor_tail"):
        rows = [_record(i) for i in range(3)]
    _without_triggers("DELETE FROM audit_auditevent WHERE id = %s", [rows[2].pk])

    problems = audit_chain_verify().problems
    assert [(p.kind, p.chain) for p in problems] == [("head_mismatch", rows[0].chain)]


def _truncate(*tables: str) -> None:
    """Empty tables as a session passing the TRUNCATE triggers would (the test database's escape)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('paysys.audit_truncate_allowed', 'on', true)")
        cursor.execute(f"TRUNCATE {', '.join(tables)}")


@pytest.mark.django_db
def test_verify_audit_fails_when_the_log_and_its_chain_heads_are_emptied():
    with correlation_scope("cor_wiped"):
        for i in range(3):
            _record(i)
    _truncate("audit_auditevent", "audit_auditchainhead")

    ok, output = _verify_audit()
    assert not ok
    assert f"audit log FAILED: {AUDIT_CHAIN_COUNT} problems in 0 rows" in output
    assert "head_missing: chain=0 seq=None event_id=- the chain head is gone" in output


@pytest.mark.django_db
def test_verify_audit_fails_when_a_single_chain_head_is_gone():
    _without_triggers("DELETE FROM audit_auditchainhead WHERE chain = 5")

    problems = audit_chain_verify().problems
    assert [(p.kind, p.chain) for p in problems] == [("head_missing", 5)]


@pytest.mark.django_db
def test_verify_audit_fails_when_the_log_holds_fewer_rows_than_a_stored_verification_counted():
    with correlation_scope("cor_counted"):
        for i in range(3):
            _record(i)
    assert audit_verify().rows == 3
    # Emptied, with fresh heads put back: the chains alone look like a new log.
    _truncate("audit_auditevent", "audit_auditchainhead")
    audit_chain_heads_ensure()

    ok, output = _verify_audit()
    assert not ok
    assert (
        "rows_missing: chain=- seq=None event_id=- the log holds 0 rows, a stored verification counted 3"
        in (output)
    )


@pytest.mark.django_db
def test_a_new_log_with_every_chain_head_and_no_verification_is_intact():
    assert AuditChainHead.objects.count() == AUDIT_CHAIN_COUNT
    report = audit_chain_verify()
    assert (report.ok, report.rows, report.chains) == (True, 0, AUDIT_CHAIN_COUNT)


@pytest.mark.django_db
def test_each_nightly_verification_is_stored_with_the_rows_it_walked():
    _record(1)
    audit_verify()
    _record(2)
    audit_verify()  # walks the first verification's audit.verified row too
    assert list(AuditVerification.objects.order_by("id").values_list("ok", "rows", "chains")) == [
        (True, 1, AUDIT_CHAIN_COUNT),
        (True, 3, AUDIT_CHAIN_COUNT),
    ]


@pytest.mark.django_db
def test_a_rolled_back_record_leaves_no_trace_in_the_chain():
    with correlation_scope("cor_rollback"):
        kept = _record(1)
        with pytest.raises(RuntimeError), transaction.atomic():
            _record(2)
            raise RuntimeError
        after = _record(3)
    assert after.chain == kept.chain
    assert after.seq == kept.seq + 1
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_audit_record_costs_one_query_on_postgresql(django_assert_num_queries):
    audit_chain_heads_ensure()
    with django_assert_num_queries(1):
        row = _record(1)
    stored = AuditEvent.objects.get(pk=row.pk)
    # The database hashed the row; Python's canonical form gives the same hash.
    assert (stored.chain, stored.seq, stored.prev_hash, stored.hash) == (
        row.chain,
        row.seq,
        row.prev_hash,
        row.hash,
    )
    assert (
        audit_row_hash({f.attname: getattr(stored, f.attname) for f in AuditEvent._meta.concrete_fields})
        == row.hash
    )


@pytest.mark.django_db
def test_an_overlong_value_is_refused_not_cut():
    from django.db import DataError

    too_long = "tr_" + "x" * AuditEvent._meta.get_field("object_id").max_length
    with pytest.raises(DataError), transaction.atomic():
        audit_record(event_type="transfer.created", object_type="transfer", object_id=too_long)
    assert not AuditEvent.objects.filter(object_id__startswith="tr_xxx").exists()


@pytest.mark.django_db
def test_a_row_whose_text_holds_the_gap_marker_is_linked_in_python(monkeypatch):
    """If the canonical text cannot be cut around the chain fields unambiguously, the row is
    linked the other way (wait for the starting stripe, hash in Python) and is just as valid."""
    audit_chain_heads_ensure()
    monkeypatch.setattr("paysys.audit.services.secrets.token_hex", lambda n: "0123456789abcdef")
    with correlation_scope("cor_marker"):
        first = _record(1)
        second = _record(2, metadata={"note": "0123456789abcdefseq"})
    assert (second.chain, second.seq, second.prev_hash) == (first.chain, first.seq + 1, first.hash)
    assert AuditChainHead.objects.get(chain=second.chain).hash == second.hash
    assert audit_chain_verify().ok


@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_a_writer_waits_for_its_stripe_when_every_stripe_is_held():
    audit_chain_heads_ensure()
    holder = connection.copy()
    holder.connect()
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT chain FROM audit_auditchainhead FOR UPDATE")
        done = threading.Event()
        rows: list[AuditEvent] = []

        def writer() -> None:
            try:
                with transaction.atomic(durable=True):
                    rows.append(_record(1))
            finally:
                done.set()
                connection.close()

        thread = threading.Thread(target=writer)
        thread.start()
        assert not done.wait(timeout=0.5), "the writer should queue while every stripe is held"
        with holder.cursor() as cursor:
            cursor.execute("COMMIT")
        thread.join(timeout=10)
    finally:
        holder.close()
    assert len(rows) == 1
    assert (rows[0].seq, rows[0].prev_hash) == (1, GENESIS_HASH)
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_an_amount_finer_than_three_decimals_or_a_float_is_refused():
    with pytest.raises(AuditRecordError):
        audit_record(event_type="fee", object_type="transaction", object_id="txn_1", amount=Decimal("0.0001"))
    with pytest.raises(AuditRecordError, match="float"):
        audit_record(event_type="fee", object_type="transaction", object_id="txn_1", amount=1.5)


money_amounts = st.decimals(
    min_value=Decimal("-9999999999999999.999"),
    max_value=Decimal("9999999999999999.999"),
    places=3,
    allow_nan=False,
    allow_infinity=False,
)
metadata_values = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount=st.one_of(st.none(), money_amounts),
    currency=st.sampled_from(["eur", "jpy", "kwd", "usd"]),
    metadata=st.dictionaries(st.text(min_size=1, max_size=10), metadata_values, max_size=4),
    state=st.text(max_size=30).filter(lambda s: "\x00" not in s),
)
def test_any_amount_and_metadata_hash_the_same_after_a_round_trip(amount, currency, metadata, state):
    metadata = {
        k: v for k, v in metadata.items() if "\x00" not in k and not (isinstance(v, str) and "\x00" in v)
    }
    row = audit_record(
        event_type="payment.captured",
        object_type="payment",
        object_id="pay_h",
        amount=amount,
        currency=currency,
        new_state=state,
        metadata=metadata,
    )
    stored = AuditEvent.objects.get(pk=row.pk)
    values = {f.attname: getattr(stored, f.attname) for f in AuditEvent._meta.concrete_fields}
    assert stored.amount == amount
    assert audit_row_hash(values) == stored.hash == row.hash


THREADS = 8
RECORDS_PER_THREAD = 40


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_eight_threads_writing_audit_rows_leave_every_chain_valid():
    audit_chain_heads_ensure()
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(RECORDS_PER_THREAD):
                # Half the writers share one correlation id: they start at the same stripe.
                cid = "cor_shared" if n % 2 else f"cor_{n}_{i}"
                with correlation_scope(cid), transaction.atomic(durable=True):
                    _record(i)
                    _record(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    report = audit_chain_verify()
    assert report.ok, report.problems
    assert report.rows == THREADS * RECORDS_PER_THREAD * 2
    assert AuditEvent.objects.values("chain").distinct().count() > 1


@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_a_writer_does_not_wait_for_another_open_transaction_holding_a_stripe():
    audit_chain_heads_ensure()
    holding = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with correlation_scope("cor_same"), transaction.atomic(durable=True):
                _record(1)
                holding.set()
                release.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert holding.wait(timeout=10)
    try:
        with connection.cursor() as cursor:
            # Were the writer to queue behind the open transaction, this would fail fast.
            cursor.execute("SET lock_timeout = '2s'")
        with correlation_scope("cor_same"), transaction.atomic(durable=True):
            mine = _record(2)
    finally:
        release.set()
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert errors == []
    assert AuditEvent.objects.count() == 2
    assert AuditEvent.objects.exclude(pk=mine.pk).get().chain != mine.chain
    assert audit_chain_verify().ok
    assert AuditChainHead.objects.count() == AUDIT_CHAIN_COUNT


@pytest.mark.django_db
def test_nightly_verification_records_its_outcome_in_the_audit_log(caplog):
    from paysys.audit.tasks import audit_verify_task

    _record(1)
    assert audit_verify_task.apply().get() is True
    ok_row = AuditEvent.objects.filter(event_type="audit.verified").get()
    assert (ok_row.new_state, ok_row.metadata["rows"], ok_row.actor_type) == ("ok", 1, "system")

    with correlation_scope("cor_bad"):
        bad = _record(2)
    _without_triggers("UPDATE audit_auditevent SET object_id = 'tr_forged' WHERE id = %s", [bad.pk])
    assert audit_verify_task.apply().get() is False
    failed = AuditEvent.objects.filter(event_type="audit.verified").order_by("-id").first()
    assert failed.new_state == "failed"
    assert failed.metadata["problems"][0]["event_id"] == bad.event_id
    assert "audit chain verification failed" in caplog.text


@pytest.mark.django_db
def test_amount_given_as_money_is_stored_with_its_currency():
    from moneyed import Money

    row = audit_record(
        event_type="fee", object_type="transaction", object_id="txn_1", amount=Money("0.125", "KWD")
    )
    row.refresh_from_db()
    assert (row.amount, row.currency) == (Decimal("0.125"), "KWD")


@pytest.mark.django_db
def test_heads_digest_changes_with_every_new_row_and_is_kept_with_the_verification(caplog):
    from paysys.audit.services import audit_verify

    caplog.set_level(logging.INFO, logger="paysys.audit.services")
    _record(1)
    first = audit_chain_verify().heads_digest
    assert first == audit_chain_verify().heads_digest
    _record(2)
    second = audit_verify().heads_digest
    assert second != first
    row = AuditEvent.objects.filter(event_type="audit.verified").get()
    assert row.metadata["heads_digest"] == second
    assert second in caplog.text


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_verification_running_alongside_writers_reports_no_false_problem():
    audit_chain_heads_ensure()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            i = 0
            while not stop.is_set():
                with correlation_scope(f"cor_live_{n}_{i % 3}"), transaction.atomic(durable=True):
                    _record(i)
                i += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        while AuditEvent.objects.count() < 20 and not errors:
            time.sleep(0.05)
        reports = [audit_chain_verify() for _ in range(3)]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert all(r.ok for r in reports), [r.problems for r in reports]
    assert reports[0].rows >= 20
    final = audit_chain_verify()
    assert final.ok
    assert final.rows > reports[0].rows  # the writers kept writing while it verified


@pytest.mark.django_db
@pytest.mark.usefixtures("beat_schedule")
def test_verification_is_scheduled_nightly_on_a_registered_task():
    from django_celery_beat.models import PeriodicTask

    from paysys.celery import app

    entry = PeriodicTask.objects.select_related("crontab").get(name="paysys.audit.audit_verify")
    app.loader.import_default_modules()
    assert entry.task in app.tasks
    assert entry.crontab.schedule.hour == {3}
