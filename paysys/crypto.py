"""Secrets at rest: one cipher for what paysys must read back, one keyed hash for the rest.

- ``encrypt`` / ``decrypt``: Fernet (AES-128-CBC + HMAC-SHA256) under keys derived from
  ``settings.PAYSYS_ENCRYPTION_KEYS`` (or, unset, from ``SECRET_KEY``); the first key encrypts,
  every key decrypts, so the encryption key itself can be rotated. Webhook signing secrets
  (``paysys.events.signing``) and the responses the idempotency table stores (one may show a
  ``whsec_`` or ``sk_`` secret) are encrypted with it.
- ``keyed_digest``: HMAC-SHA256 under a key derived from ``SECRET_KEY``, one derivation per
  purpose, for values that are only ever compared and must not be readable or guessable from
  the database: Idempotency-Key values in the audit log, request fingerprints (a card
  payment's body holds the card number).
"""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Domain separation: the encryption key is never the raw configured key. The label predates
# the idempotency table's use of the cipher; it stays, so every token stored still decrypts.
_ENCRYPTION_CONTEXT = b"paysys.events.webhook-secret-encryption.v1"
_DIGEST_CONTEXT = b"paysys.keyed-digest.v1:"


class DecryptionError(Exception):
    """A token that no configured key decrypts (keys lost or rotated out, or not a token)."""


def _fernet() -> MultiFernet:
    configured = list(settings.PAYSYS_ENCRYPTION_KEYS or [settings.SECRET_KEY])
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(hmac.new(k.encode(), _ENCRYPTION_CONTEXT, hashlib.sha256).digest())
            )
            for k in configured
        ]
    )


def encrypt(plaintext: bytes) -> bytes:
    return _fernet().encrypt(plaintext)


def decrypt(token: bytes) -> bytes:
    try:
        return _fernet().decrypt(token)
    except InvalidToken as exc:
        raise DecryptionError("A value stored encrypted could not be decrypted.") from exc


def keyed_hasher(purpose: str) -> "hmac.HMAC":
    """An HMAC-SHA256 to feed; its key is derived from ``SECRET_KEY`` for ``purpose`` alone."""
    key = hmac.new(settings.SECRET_KEY.encode(), _DIGEST_CONTEXT + purpose.encode(), hashlib.sha256).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def keyed_digest(value: str, *, purpose: str) -> str:
    """Hex HMAC-SHA256 of ``value`` for ``purpose`` (64 characters)."""
    hasher = keyed_hasher(purpose)
    hasher.update(value.encode())
    return hasher.hexdigest()
