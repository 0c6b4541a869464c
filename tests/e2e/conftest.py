"""Live-server fixtures: two merchants with keys, and httpx clients speaking real HTTP."""

import httpx
import pytest

from tests.api.helpers import Tenant, tenant_create


@pytest.fixture
def e2e_settings(settings):
    # Rate limits are tested by ops against Redis; here they would only add flakiness.
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    return settings


@pytest.fixture
def tenants(transactional_db, e2e_settings) -> tuple[Tenant, Tenant]:
    return tenant_create("Alpha"), tenant_create("Bravo")


@pytest.fixture
def http(live_server):
    clients: list[httpx.Client] = []

    def make(secret: str | None = None, **headers: str) -> httpx.Client:
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        client = httpx.Client(base_url=live_server.url, headers=headers, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
