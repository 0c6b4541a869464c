from tests.admin.conftest import (  # noqa: F401 (fixtures)
    _fresh_processor_state,
    card,
    superuser_client,
    viewer_client,
    wallet_for,
    world,
)
from tests.operators.conftest import operator_client  # noqa: F401 (fixture)
from tests.payments.conftest import merchant_factory  # noqa: F401 (fixture)
