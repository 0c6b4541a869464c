"""Test and live mode rules of payments.

A test card (``payments.processor.simulator.TEST_CARDS``, the numbers API.md lists) exists to
exercise the simulator: in live mode it is refused before anything is stored or sent, and a
live card payment, and every processor operation on one, needs the configured live processor
(``processor_mode_check``). Everything
else about modes is tenancy (``paysys.tenancy``): a key sees its mode's objects only.
"""

from payments.cards import CardData
from payments.processor import processor_mode_check
from payments.processor.simulator import TEST_CARDS
from paysys.errors import InvalidRequestError


class LiveModeTestCardError(InvalidRequestError):
    default_code = "test_card_in_live_mode"


def card_mode_check(*, livemode: bool, card: CardData | None) -> None:
    """In live mode: refuse a known test card, and any card without a live processor."""
    if not livemode:
        return
    if card is not None and card.number in TEST_CARDS:
        raise LiveModeTestCardError(
            "Your request was in live mode, but used a known test card. Use a test key (sk_test_…) "
            "with test cards.",
            param="card[number]",
        )
    processor_mode_check(livemode=True)
