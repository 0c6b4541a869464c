"""Public object ids: a type prefix and 24 random base62 characters (``pay_3kTm...``).

Ids are opaque to merchants; list order comes from the primary key, never from the id.
A model's default is a module-level function (so migrations can reference it), e.g.
``def new_payment_id() -> str: return new_id("pay")``.
"""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
ID_RANDOM_LENGTH = 24
ID_MAX_LENGTH = 40


def new_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(ID_RANDOM_LENGTH))
