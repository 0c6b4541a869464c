"""The hot paths' query counts are fixed, so an N+1 cannot creep in unnoticed."""

from moneyed import Money

from payments.services import payment_create
from tests.payments.conftest import card

# Four short transactions (begin, authorization answer, capture begin, capture answer with its one
# posting of capture + fee: one call of the database function ledger_post, in a savepoint of the
# step's transaction), six audit rows (one statement each), five events and the history
# rows (each transition's UPDATE, then its history row's INSERT: a plain `save()`); each
# processor answer is recorded by one conditional UPDATE of its operation; the payment is read
# back only where a step did not just leave it locked in hand.
# Measured; a change here should be a decision, not a drift.
CARD_PAYMENT_QUERIES = 43
# The API key lookup (with its merchant) and one select_related read of the payment(s).
RETRIEVE_QUERIES = 2
LIST_QUERIES = 2


def test_card_payment_with_automatic_capture_runs_a_fixed_number_of_queries(
    merchant, django_assert_num_queries
):
    payment_create(merchant=merchant, amount=Money("1.00", "EUR"), card=card())  # opens platform accounts
    with django_assert_num_queries(CARD_PAYMENT_QUERIES):
        payment_create(merchant=merchant, amount=Money("10.00", "EUR"), card=card())


def test_retrieving_a_payment_is_constant(api, django_assert_num_queries):
    paid = api.post(
        "/v1/payments",
        {"amount": 1000, "currency": "eur", "payment_method_data": {"type": "card", "card": card()}},
        format="json",
    ).json()
    with django_assert_num_queries(RETRIEVE_QUERIES):
        api.get(f"/v1/payments/{paid['id']}")


def test_listing_payments_does_not_grow_with_the_page(api, django_assert_num_queries):
    for _ in range(5):
        api.post(
            "/v1/payments",
            {"amount": 1000, "currency": "eur", "payment_method_data": {"type": "card", "card": card()}},
            format="json",
        )
    with django_assert_num_queries(LIST_QUERIES):
        api.get("/v1/payments", {"limit": 5})
