"""API key secrets: minting and hashing.

A secret is ``sk_<mode>_`` followed by 40 random base62 characters (about 238 bits), shown
once. Only ``HMAC-SHA256(pepper, secret)`` is stored. A slow password hash (bcrypt, argon2)
protects low-entropy human passwords against guessing; a 238-bit random secret cannot be
guessed, so a fast keyed hash is as strong and keeps authentication to one indexed lookup per
request. The pepper (``settings.PAYSYS_API_KEY_PEPPER``) lives outside the database, so a
stolen table alone does not even allow checking a candidate key.
"""

import hashlib
import hmac
import secrets
import string

from django.conf import settings

_ALPHABET = string.ascii_letters + string.digits
SECRET_RANDOM_LENGTH = 40
# ``sk_test_`` + 8 random characters: enough to tell keys apart in lists and commands.
PREFIX_LENGTH = 16
SECRET_PREFIXES = {"test": "sk_test_", "live": "sk_live_"}


def secret_new(mode: str) -> str:
    return SECRET_PREFIXES[mode] + "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_RANDOM_LENGTH))


def secret_prefix(secret: str) -> str:
    return secret[:PREFIX_LENGTH]


def secret_hash(secret: str) -> str:
    pepper = settings.PAYSYS_API_KEY_PEPPER.encode()
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def secret_looks_valid(secret: str) -> bool:
    """A cheap shape check before touching the database."""
    return (
        any(secret.startswith(p) for p in SECRET_PREFIXES.values())
        and len(secret) == len("sk_test_") + SECRET_RANDOM_LENGTH
        and secret[len("sk_test_") :].isalnum()
        and secret.isascii()
    )
