"""The project's Redis cache backend keeps one client per connection pool."""

import pytest
from django.conf import settings
from django.core.cache import caches

from paysys.cache import RedisCache


def test_the_configured_cache_is_the_project_backend_and_reuses_its_client():
    if not settings.REDIS_URL:
        pytest.skip("without REDIS_URL the cache is in-process and has no client")
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    cache.set("paysys-test-cache", {"n": 1}, timeout=5)
    assert cache.get("paysys-test-cache") == {"n": 1}
    assert cache._cache.get_client() is client
    cache.delete("paysys-test-cache")
