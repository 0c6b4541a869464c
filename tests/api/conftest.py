import pytest

from tests.api import platform_app
from tests.api.helpers import ApiClient, tenant_create


@pytest.fixture
def platform_api(settings):
    """Route /v1/groups to the test views and resolve keys with the test resolver."""
    settings.ROOT_URLCONF = "tests.api.urls_platform"
    settings.PAYSYS_API_KEY_AUTHENTICATOR = "tests.api.platform_app.authenticate"
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    platform_app.gate.update(enabled=False)
    platform_app.gate["entered"].clear()
    platform_app.gate["release"].clear()
    return platform_app


@pytest.fixture
def a():
    """A merchant with a test key (merchant "Alpha")."""
    return tenant_create("Alpha")


@pytest.fixture
def api(a, settings):
    """An API client with Alpha's key and no rate limit."""
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    return ApiClient(a.secret)
