"""paysys.db.compiled: a queryset compiled once builds what the queryset itself builds."""

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from accounts.models import LedgerAccount, Transfer
from accounts.services import transfer_create, transfer_reverse
from paysys.db.compiled import CompiledQuery
from tests.accounts.conftest import MERCHANT

pytestmark = pytest.mark.django_db

TRANSFER = CompiledQuery(
    lambda merchant, pk: Transfer.objects.select_related(
        "from_account", "to_account", "transaction", "reversal_transaction"
    ).filter(merchant_id=merchant, pk=pk),
    merchant=str,
    pk=int,
)
ACCOUNT_LOCK = CompiledQuery(
    lambda pk: LedgerAccount.objects.select_for_update(no_key=True).filter(pk=pk), pk=int
)
OF_MERCHANT = CompiledQuery(
    lambda merchant: LedgerAccount.objects.filter(merchant_id=merchant).order_by("pk"), merchant=str
)


def fields(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.fixture
def transfers(wallet_factory):
    source, destination = wallet_factory(funded="10.00"), wallet_factory()
    kept = transfer_create(
        merchant_id=MERCHANT,
        from_account_id=source.pk,
        to_account_id=destination.pk,
        amount=Money("1.00", "EUR"),
        metadata={"order": "1"},
    )
    reversed_ = transfer_create(
        merchant_id=MERCHANT,
        from_account_id=source.pk,
        to_account_id=destination.pk,
        amount=Money("2.00", "EUR"),
    )
    transfer_reverse(merchant_id=MERCHANT, transfer_id=reversed_.pk)
    return kept, reversed_


def test_instances_and_their_related_objects_match_the_querysets(transfers):
    for transfer in transfers:
        expected = Transfer.objects.select_related(
            "from_account", "to_account", "transaction", "reversal_transaction"
        ).get(pk=transfer.pk)
        got = TRANSFER.get(merchant=MERCHANT, pk=transfer.pk)
        assert fields(got) == fields(expected)
        assert got.metadata == expected.metadata  # converted by the field, not left as text
        assert not got._state.adding and got._state.db == "default"
        for relation in ("from_account", "to_account", "transaction", "reversal_transaction"):
            assert Transfer._meta.get_field(relation).is_cached(got)
            related, related_expected = getattr(got, relation), getattr(expected, relation)
            assert (related and fields(related)) == (related_expected and fields(related_expected))
    assert transfers[0].metadata == {"order": "1"}
    assert TRANSFER.get(merchant=MERCHANT, pk=transfers[1].pk).reversal_transaction is not None
    assert TRANSFER.get(merchant=MERCHANT, pk=transfers[0].pk).reversal_transaction is None


def test_parameters_are_bound_per_call_and_the_sql_is_compiled_once(transfers):
    with CaptureQueriesContext(connection) as captured:
        first = TRANSFER.get(merchant=MERCHANT, pk=transfers[0].pk)
        second = TRANSFER.get(merchant=MERCHANT, pk=transfers[1].pk)
    assert (first.pk, second.pk) == (transfers[0].pk, transfers[1].pk)
    assert (
        len({query["sql"].replace(str(first.pk), "?").replace(str(second.pk), "?") for query in captured})
        == 1
    )
    assert TRANSFER in connection._paysys_compiled
    with pytest.raises(Transfer.DoesNotExist):
        TRANSFER.get(merchant="mer_other", pk=transfers[0].pk)


def test_get_first_and_all(wallet_factory):
    accounts = [wallet_factory(), wallet_factory()]
    assert [a.pk for a in OF_MERCHANT.all(merchant=MERCHANT)] == [a.pk for a in accounts]
    assert OF_MERCHANT.first(merchant=MERCHANT).pk == accounts[0].pk
    assert OF_MERCHANT.first(merchant="mer_nobody") is None
    with pytest.raises(LedgerAccount.MultipleObjectsReturned):
        OF_MERCHANT.get(merchant=MERCHANT)


@pytest.mark.django_db(transaction=True)
def test_a_lock_outside_a_transaction_is_refused(wallet_factory):
    account = wallet_factory()
    with pytest.raises(TransactionManagementError):
        ACCOUNT_LOCK.get(pk=account.pk)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        ACCOUNT_LOCK.get(pk=account.pk)
    assert "FOR NO KEY UPDATE" in captured.captured_queries[0]["sql"]


def test_declarations_are_checked_when_compiled(wallet_factory):
    wallet_factory()
    with pytest.raises(TypeError, match="int or str"):
        CompiledQuery(lambda when: LedgerAccount.objects.filter(created__lte=when), when=float).all(when=1.0)
    twice = CompiledQuery(
        lambda merchant: LedgerAccount.objects.filter(merchant_id=merchant, metadata__owner=merchant),
        merchant=str,
    )
    with pytest.raises(TypeError, match="exactly once"):
        twice.all(merchant=MERCHANT)
    with pytest.raises(TypeError, match="annotations"):
        CompiledQuery(
            lambda merchant: LedgerAccount.objects.filter(merchant_id=merchant).prefetch_related("entries"),
            merchant=str,
        ).all(merchant=MERCHANT)
