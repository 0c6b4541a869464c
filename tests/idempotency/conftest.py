from tests.api.conftest import platform_api  # noqa: F401  (the platform-only API)
