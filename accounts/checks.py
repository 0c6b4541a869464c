"""Checks other apps add to ``verify_ledger``'s report, though the ledger cannot import them.

An app registers a check from its ``AppConfig.ready()``: a function returning the failing rows
(dicts), empty when all is well. ``ledger_verify`` runs every registered check after its own,
in the same snapshot, and reports their rows under the check's name.
"""

from collections.abc import Callable

LedgerCheck = Callable[[], list[dict]]

_checks: dict[str, LedgerCheck] = {}


def ledger_check_register(*, name: str, check: LedgerCheck) -> None:
    _checks[name] = check


def ledger_checks() -> dict[str, LedgerCheck]:
    return dict(_checks)
