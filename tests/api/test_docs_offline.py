"""/v1/docs/ works with no network: Swagger UI comes from the pinned drf-spectacular-sidecar and
paysys serves its files itself, so the page names no other host."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_docs_page_loads_only_assets_that_paysys_serves():
    page = Client().get("/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()

    # Nothing from another host: no absolute or protocol-relative URL anywhere in the page.
    assert re.findall(r"""["'(]\s*((?:https?:)?//[^"')\s]+)""", html) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets), assets
    assert any(asset.endswith("swagger-ui.css") for asset in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        served = Client().get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content]), asset
    # The schema it renders is paysys' own.
    assert 'url: "/v1/schema/"' in html
