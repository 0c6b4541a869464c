import pytest


@pytest.fixture(autouse=True)
def _ledger_verified_after_each_test(request):
    """Every test that touches the database leaves a ledger that ``verify_ledger`` accepts.

    The database fixture is taken first, so this check runs before its rollback or flush. A test
    that corrupts the ledger on purpose (to show the checks fire) is marked ``ledger_corrupted``.
    """
    uses_db = request.node.get_closest_marker("django_db") is not None or "_django_db_helper" in (
        request.fixturenames
    )
    if not uses_db or request.node.get_closest_marker("ledger_corrupted"):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    from accounts.services import ledger_verify

    result = ledger_verify()
    assert result.ok, f"the ledger is inconsistent after this test: {result.failures}"
