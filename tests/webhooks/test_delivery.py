"""One HTTP POST (``paysys.events.delivery``) against a real local receiver: what is recorded of
the response."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paysys.events.delivery import RESPONSE_EXCERPT_BYTES, _excerpt, webhook_post

pytestmark = pytest.mark.timeout(60)


@given(raw=st.binary(max_size=3 * RESPONSE_EXCERPT_BYTES))
def test_excerpt_of_any_bytes_encodes_to_at_most_1_kb_without_nul(raw):
    text = _excerpt(raw)
    assert len(text.encode()) <= RESPONSE_EXCERPT_BYTES
    assert "\x00" not in text


@given(text=st.text(max_size=2 * RESPONSE_EXCERPT_BYTES).filter(lambda t: "\x00" not in t))
def test_excerpt_of_valid_utf8_is_the_longest_whole_character_prefix_that_fits(text):
    excerpt = _excerpt(text.encode())
    assert text.startswith(excerpt)
    assert len(excerpt.encode()) <= RESPONSE_EXCERPT_BYTES
    rest = text[len(excerpt) :]
    if rest:  # cut only because the next character would not fit
        assert len(excerpt.encode()) + len(rest[0].encode()) > RESPONSE_EXCERPT_BYTES


@pytest.mark.parametrize(
    "body",
    [
        "€".encode() * 1000,  # 3 bytes each: the 1 KB cut splits one
        b"\xff" * 2000,  # every byte invalid: U+FFFD is 3 bytes in UTF-8
        b"ok\x00" * 500,  # NUL cannot be stored in PostgreSQL text
    ],
    ids=["split-character", "invalid-bytes", "nul"],
)
def test_stored_response_excerpt_is_at_most_1_kb_after_decoding(allow_private, receiver, body):
    receiver.status = 500
    receiver.response_body = body

    sent = webhook_post(url=receiver.url, headers={}, body=b"{}")

    assert sent.status_code == 500
    assert 0 < len(sent.response_excerpt.encode()) <= RESPONSE_EXCERPT_BYTES
    assert "\x00" not in sent.response_excerpt
