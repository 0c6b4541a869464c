"""Hypothesis: the ledger agrees with a trivial model of itself, in currencies of every exponent."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.errors import OverdraftFundingError
from accounts.models import AccountKind, Entry, OwnerType
from accounts.selectors import account_get, account_list
from accounts.services import PostingLine, account_open, ledger_post, platform_account_get
from paysys.errors import InsufficientFundsError
from paysys.money import minor_to_money
from tests.accounts.conftest import MERCHANT

WALLETS = 4
moves = st.lists(
    st.tuples(
        st.integers(0, WALLETS - 1), st.integers(0, WALLETS - 1), st.integers(min_value=1, max_value=50_000)
    ).filter(lambda move: move[0] != move[1]),
    min_size=1,
    max_size=12,
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    currency=st.sampled_from(["JPY", "EUR", "KWD"]),
    overdraft=st.lists(st.booleans(), min_size=WALLETS, max_size=WALLETS),
    opening=st.lists(st.integers(0, 100_000), min_size=WALLETS, max_size=WALLETS),
    plan=moves,
)
def test_postings_match_a_model_and_conserve_money(currency, overdraft, opening, plan):
    # The platform's funding account carries the other side (examples share it: compare deltas).
    source = platform_account_get(kind=AccountKind.WALLET_FUNDING, currency=currency)
    source_before = account_get(account_id=source.pk).posted
    wallets = [
        account_open(
            owner_type=OwnerType.CUSTOMER,
            merchant_id=MERCHANT,
            kind=AccountKind.WALLET,
            currency=currency,
            allow_negative=overdraft[i],
            balance_shards=1 + i,
        )
        for i in range(WALLETS)
    ]
    model = [0] * WALLETS  # minor units
    for i, minor in enumerate(opening):
        if minor:
            money = minor_to_money(minor, currency)
            ledger_post(
                reference=f"open:{wallets[i].public_id}",
                kind="funding",
                lines=[PostingLine(source.pk, -money), PostingLine(wallets[i].pk, money)],
            )
            model[i] += minor
    for n, (src, dst, minor) in enumerate(plan):
        money = minor_to_money(minor, currency)
        try:
            ledger_post(
                reference=f"move:{wallets[0].public_id}:{n}",
                kind="transfer",
                lines=[PostingLine(wallets[src].pk, -money), PostingLine(wallets[dst].pk, money)],
            )
        except InsufficientFundsError:
            assert not overdraft[src] and model[src] < minor
            continue
        except OverdraftFundingError:
            # An overdraft wallet never funds another wallet, whatever its balance.
            assert overdraft[src]
            continue
        assert not overdraft[src] and model[src] >= minor
        model[src] -= minor
        model[dst] += minor

    for wallet, expected in zip(wallets, model, strict=True):
        posted = account_get(account_id=wallet.pk).posted
        assert posted == minor_to_money(expected, currency).amount
        assert posted == sum(
            Entry.objects.filter(account=wallet).values_list("amount", flat=True), Decimal(0)
        )
    mine = [a for a in account_list(currency=currency) if a.pk in {w.pk for w in wallets}]
    assert sum(a.posted for a in mine) + account_get(account_id=source.pk).posted - source_before == 0
