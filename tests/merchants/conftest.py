from tests.operators.conftest import operator_client  # noqa: F401 (fixture)
