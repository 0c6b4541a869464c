import pytest
from django.urls import reverse
from moneyed import Money

from accounts.models import Entry, Hold, JournalTransaction, LedgerAccount, LedgerVerification, Transfer
from accounts.services import hold_place, ledger_verify, transfer_create
from tests.accounts.conftest import MERCHANT

LEDGER_MODELS = [LedgerAccount, JournalTransaction, Entry, Hold, Transfer, LedgerVerification]


@pytest.fixture
def ledger_rows(wallet_factory):
    a, b = wallet_factory(funded="12.00"), wallet_factory()
    transfer_create(merchant_id=MERCHANT, from_account_id=a.pk, to_account_id=b.pk, amount=Money(2, "EUR"))
    hold_place(account_id=a.pk, amount=Money(1, "EUR"), reference="admin-hold")
    ledger_verify(store=True)


@pytest.mark.parametrize("model", LEDGER_MODELS, ids=lambda m: m.__name__)
def test_ledger_admin_lists_and_shows_rows_read_only(admin_client, ledger_rows, model):
    opts = model._meta
    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    assert b"delete_selected" not in changelist.content
    assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
    obj = model.objects.first()
    assert obj is not None
    if obj is not None:
        detail = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert detail.status_code == 200
        delete = admin_client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]))
        assert delete.status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()


def test_account_changelist_shows_the_balance_with_its_shards(admin_client, wallet_factory):
    wallet = wallet_factory(funded="12.34")
    page = admin_client.get(reverse("admin:accounts_ledgeraccount_changelist"), {"q": wallet.public_id})
    assert b"EUR 12.34" in page.content
