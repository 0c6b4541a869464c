"""The SSRF guard: private targets are refused at creation and again at connect time, and the
connection goes to the address that was checked."""

import ipaddress
import socket

import pytest

from paysys.events import ssrf
from paysys.events.delivery import OUTCOME_REFUSED, OUTCOME_SUCCEEDED, webhook_post

BLOCKED = [
    "127.0.0.1",
    "127.9.9.9",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # cloud metadata
    "169.254.1.1",
    "0.0.0.0",  # noqa: S104
    "224.0.0.1",
    "240.0.0.1",
    "192.0.2.10",  # documentation
    "::1",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "ff02::1",
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address):
    assert ssrf.address_is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert not ssrf.address_is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "224.0.0.1", "0.0.0.0"])  # noqa: S104
def test_metadata_multicast_unspecified_stay_blocked_even_when_private_urls_allowed(address):
    assert ssrf.address_is_blocked(ipaddress.ip_address(address), allow_private=True)


def test_loopback_allowed_only_with_the_explicit_setting(settings):
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    with pytest.raises(ssrf.WebhookUrlBlockedError) as exc:
        ssrf.url_validate("http://127.0.0.1:8000/hooks")
    assert exc.value.param == "url" and exc.value.status_code == 400
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert ssrf.url_validate("http://127.0.0.1:8000/hooks") == "http://127.0.0.1:8000/hooks"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.215.14/x",
        "file:///etc/passwd",
        "gopher://93.184.215.14/",
        "http://",
        "not a url",
        "",
        "http://[::1",
    ],
)
def test_malformed_or_non_http_urls_are_refused_naming_url(url):
    with pytest.raises(ssrf.WebhookUrlError) as exc:
        ssrf.url_validate(url)
    assert exc.value.param == "url"


def _fake_dns(monkeypatch, answers: dict[str, list[list[str]]]):
    """Answer DNS from ``answers[host]``, one list of addresses per lookup (the last repeats)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_with_any_private_address_is_refused(monkeypatch, settings):
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    _fake_dns(monkeypatch, {"mixed.example": [["93.184.215.14", "10.0.0.7"]]})
    with pytest.raises(ssrf.WebhookUrlBlockedError):
        ssrf.url_validate("https://mixed.example/hooks")


def test_dns_rebinding_after_creation_is_refused_at_connect_time(monkeypatch, settings, receiver):
    """Public at creation, loopback at delivery: the delivery is refused, nothing is sent."""
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    _fake_dns(monkeypatch, {"rebind.example": [["93.184.215.14"], ["127.0.0.1"]]})
    url = f"http://rebind.example:{receiver.port}/hooks"
    assert ssrf.url_validate(url) == url
    result = webhook_post(url=url, headers={}, body=b"{}")
    assert result.outcome == OUTCOME_REFUSED and "127.0.0.1" in result.error
    assert receiver.received == []


@pytest.mark.timeout(30)
def test_connection_goes_to_the_checked_address_with_the_name_as_host(monkeypatch, settings, receiver):
    """One lookup per delivery: a second answer (say, a rebinding one) is never used."""
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    _fake_dns(monkeypatch, {"hooks.merchant.test": [["127.0.0.1"], ["169.254.169.254"]]})
    result = webhook_post(url=f"http://hooks.merchant.test:{receiver.port}/hooks", headers={}, body=b"{}")
    assert result.outcome == OUTCOME_SUCCEEDED
    assert receiver.received[0].headers["host"] == f"hooks.merchant.test:{receiver.port}"


@pytest.mark.timeout(30)
def test_redirects_are_not_followed(settings, receiver):
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    receiver.status = 302
    result = webhook_post(url=receiver.url, headers={}, body=b"{}")
    assert result.outcome == "failed" and result.status_code == 302
    assert len(receiver.received) == 1
