import pytest
from django.test import RequestFactory

from paysys.audit.models import AuditEvent
from paysys.client_ip import client_ip
from tests.api.helpers import ApiClient, tenant_create


def _request(forwarded: str | None, remote: str = "10.0.0.1"):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, None, "10.0.0.1"),
        (0, "203.0.113.9", "10.0.0.1"),  # nothing in front: the header is the client's own words
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a forged entry left of the proxy's is ignored
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, None, ""),  # fewer hops than proxies: not through them
        (2, "203.0.113.9", ""),
        (1, "not-an-address", ""),
    ],
)
def test_client_ip_counts_trusted_proxies_from_the_right(settings, proxies, forwarded, expected):
    settings.PAYSYS_TRUSTED_PROXIES = proxies
    assert client_ip(_request(forwarded)) == expected


@pytest.mark.django_db
def test_audit_rows_of_a_proxied_request_carry_the_client_address(settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    settings.PAYSYS_TRUSTED_PROXIES = 1
    api = ApiClient(tenant_create("Alpha").secret)
    response = api.post("/v1/accounts", {"currency": "eur"}, **{"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert response.status_code == 201
    row = AuditEvent.objects.get(object_id=response.json()["id"])
    assert row.ip_address == "203.0.113.0"  # the client's, masked to its /24 as audit rows keep it
