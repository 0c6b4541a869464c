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


_BASE = len(_ALPHABET)
_ID_SPACE = _BASE**ID_RANDOM_LENGTH
_ID_BITS = _ID_SPACE.bit_length()


def new_id(prefix: str) -> str:
    # One draw of a uniform number below 62**24 (redrawn on the ~7% above it), written in base 62:
    # the same ids as 24 independent characters, a tenth of the cost on hot paths.
    while (number := secrets.randbits(_ID_BITS)) >= _ID_SPACE:
        pass
    chars = []
    for _ in range(ID_RANDOM_LENGTH):
        number, digit = divmod(number, _BASE)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_" + "".join(chars)
