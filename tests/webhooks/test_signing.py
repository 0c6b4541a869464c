"""Standard Webhooks signatures and the encryption of endpoint secrets at rest."""

import base64
import hashlib
import hmac
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from paysys.events import signing


def test_secret_has_prefix_and_decodes_to_32_random_bytes():
    a, b = signing.secret_generate(), signing.secret_generate()
    assert a.startswith("whsec_") and a != b
    assert len(signing.secret_key_bytes(a)) == signing.SECRET_BYTES


@settings(max_examples=30, deadline=None)
@given(text=st.text(max_size=500), msg_id=st.from_regex(r"evt_[A-Za-z0-9]{24}", fullmatch=True))
def test_signature_verifies_with_the_official_library(text, msg_id):
    secret = signing.secret_generate()
    body = text.encode()
    headers = signing.headers_build(msg_id=msg_id, timestamp=int(time.time()), body=body, secrets_=[secret])
    # verify() raises on any mismatch; json_parse=False because the body is arbitrary text here.
    Webhook(secret).verify(body, headers, json_parse=False)
    assert headers["webhook-id"] == msg_id


def test_signature_matches_plain_hmac_over_id_timestamp_body():
    secret = signing.secret_generate()
    body = b'{"id":"evt_1","type":"payment.succeeded"}'
    sig = signing.signature_compute(secret=secret, msg_id="evt_1", timestamp=1700000000, body=body)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"evt_1.1700000000." + body, hashlib.sha256).digest()).decode()
    assert sig == f"v1,{expected}"


def test_two_secrets_give_two_space_separated_signatures_each_verifiable():
    old, new = signing.secret_generate(), signing.secret_generate()
    body = b'{"a":1}'
    headers = signing.headers_build(
        msg_id="evt_x", timestamp=int(time.time()), body=body, secrets_=[new, old]
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.secret_generate()).verify(body, headers)


def test_tampered_body_fails_verification():
    secret = signing.secret_generate()
    headers = signing.headers_build(
        msg_id="evt_x", timestamp=int(time.time()), body=b'{"a":1}', secrets_=[secret]
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)


def test_encrypted_secret_round_trips_and_is_not_the_plaintext():
    secret = signing.secret_generate()
    token = signing.secret_encrypt(secret)
    assert secret not in token and secret.removeprefix("whsec_") not in token
    assert signing.secret_decrypt(token) == secret


def test_encryption_key_can_be_rotated_old_tokens_still_decrypt(settings):
    settings.PAYSYS_ENCRYPTION_KEYS = ["old-key"]
    secret = signing.secret_generate()
    token = signing.secret_encrypt(secret)
    settings.PAYSYS_ENCRYPTION_KEYS = ["new-key", "old-key"]
    assert signing.secret_decrypt(token) == secret
    settings.PAYSYS_ENCRYPTION_KEYS = ["new-key"]
    with pytest.raises(signing.WebhookSecretDecryptionError):
        signing.secret_decrypt(token)
