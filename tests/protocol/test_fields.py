"""FieldReader: malformed internal-topic records are InvalidFrame, naming the topic."""

from __future__ import annotations

import pytest

from streamtest.protocol.exceptions import InvalidFrame
from streamtest.protocol.fields import FieldReader


def test_reads_classic_and_compact_fields_and_tags():
    data = (
        b"\x00\x02ab"  # INT16-length string
        + b"\x03cd"  # compact string (length + 1)
        + b"\x00\x00\x00\x01x"  # INT32-length bytes
        + b"\xff\xff"  # null string
        + b"\x01\x05\x02\x00\x07"  # one tagged field: tag 5, 2 bytes
    )
    r = FieldReader(data, "__consumer_offsets")
    assert r.string() == "ab"
    assert r.string(compact=True) == "cd"
    assert r.bytes_() == b"x"
    assert r.string() is None
    assert r.tagged_fields() == {5: b"\x00\x07"}
    assert r.pos == len(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x05ab", "truncated __transaction_state record"),
        (b"\x00\x02\xff\xfe", "__transaction_state string is not UTF-8"),
        (b"\x00", "truncated __transaction_state record"),
    ],
)
def test_malformed_input_is_invalid_frame_naming_the_topic(data, message):
    r = FieldReader(data, "__transaction_state")
    with pytest.raises(InvalidFrame, match=message):
        r.string()
