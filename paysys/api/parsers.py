"""The API's JSON parser: DRF's strict one, bounded in depth and limited to valid Unicode.

Two kinds of syntactically valid JSON would otherwise reach the views and fail deep inside
them as a 500:

- nesting: Python's decoder recurses once per level, so a 2 KB body of ``[[[[…`` raises
  ``RecursionError``; and a body some hundreds of levels deep that still decodes would recurse
  again in every later walk (validation, canonical JSON, rendering). No request of the API
  nests deeper than a few levels: more than ``MAX_JSON_DEPTH`` is a 400 ``invalid_json``;
- lone surrogates: ``"\\udc00"`` is legal JSON text (RFC 8259 only calls it unpredictable)
  but no Unicode string, so PostgreSQL (text or jsonb) and UTF-8 encoders refuse it. As
  I-JSON (RFC 7493) requires, such a string is a 400 naming the parameter that holds it.

Both checks walk the parsed value only when the text could hold the problem (more opening
brackets than the depth limit, a ``\\uD8xx``-``\\uDFxx`` escape), so an ordinary body costs two
substring counts and one search.
"""

import codecs
import json
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from paysys.errors import InvalidRequestError

MAX_JSON_DEPTH = 32
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _too_deep() -> ParseError:
    return ParseError(f"JSON parse error - the body is nested more than {MAX_JSON_DEPTH} levels deep.")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _param(path: tuple[object, ...]) -> str | None:
    """``("card", "number")`` → ``card[number]``, as the API names nested parameters."""
    if not path:
        return None
    head, *rest = path
    return str(head) + "".join(f"[{part}]" for part in rest)


def json_value_check(value: object) -> None:
    """Raise if ``value`` nests deeper than ``MAX_JSON_DEPTH`` or holds a lone surrogate.

    Iterative (an explicit stack), so it cannot itself run out of recursion.
    """
    stack: list[tuple[object, tuple[object, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict | list):
            if len(path) >= MAX_JSON_DEPTH:
                raise _too_deep()
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and _has_surrogate(key):
                    raise _surrogate(path)
                stack.append((child, (*path, key)))
        elif isinstance(item, str) and _has_surrogate(item):
            raise _surrogate(path)


def _surrogate(path: tuple[object, ...]) -> InvalidRequestError:
    param = _param(path)
    where = f"Invalid {param}: " if param else ""
    return InvalidRequestError(
        f"{where}strings must be valid Unicode: a lone surrogate (\\ud800-\\udfff) cannot be stored.",
        code="parameter_invalid",
        param=param,
    )


class JSONParser(parsers.JSONParser):
    """DRF's ``JSONParser`` (no ``NaN``/``Infinity``) plus the checks above."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_constant=strict_constant)
        except RecursionError:
            raise _too_deep() from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH or _SURROGATE_ESCAPE.search(text):
            json_value_check(data)
        return data
