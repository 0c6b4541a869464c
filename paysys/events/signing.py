"""Webhook signatures (Standard Webhooks) and the encryption of endpoint secrets at rest.

Signing follows the Standard Webhooks spec, so any of its official libraries verifies a
delivery:

* ``webhook-id``: the event's ``evt_`` id, identical on every retry (receivers dedupe on it);
* ``webhook-timestamp``: Unix seconds of this attempt;
* ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), one
  per valid secret, space-separated (two during the overlap after a rotation).

A secret is ``whsec_`` + base64 of ``SECRET_BYTES`` random bytes; the HMAC key is the decoded
part after the prefix.

Secrets must stay usable for signing, so unlike API keys they cannot be hashed. They are
encrypted at rest with the platform's cipher (``paysys.crypto``: Fernet under keys derived
from ``settings.PAYSYS_ENCRYPTION_KEYS`` or ``SECRET_KEY``, rotatable).
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from paysys import crypto
from paysys.errors import PaysysError

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"


class WebhookSecretDecryptionError(PaysysError):
    """A stored secret cannot be decrypted with any configured key (keys lost or rotated out)."""

    status_code = 500
    error_type = "api_error"
    default_code = "webhook_secret_unreadable"


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret: the base64-decoded part after the prefix."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def signature_compute(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key_bytes(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def headers_build(*, msg_id: str, timestamp: int, body: bytes, secrets_: Iterable[str]) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in ``secrets_`` (in order)."""
    signatures = " ".join(
        signature_compute(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def secret_encrypt(secret: str) -> str:
    return crypto.encrypt(secret.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    try:
        return crypto.decrypt(token.encode("ascii")).decode()
    except crypto.DecryptionError as exc:
        raise WebhookSecretDecryptionError("A webhook secret could not be decrypted.") from exc
