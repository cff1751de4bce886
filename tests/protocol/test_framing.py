"""Framing and headers, tested with plain bytes (no sockets)."""

from __future__ import annotations

import struct

import pytest

from streamtest.protocol.exceptions import FrameTooLarge, InvalidFrame
from streamtest.protocol.framing import FrameReader, frame
from streamtest.protocol.headers import parse_request_header, read_uvarint, skip_tagged_fields


def test_frames_split_across_arbitrary_chunks_are_reassembled():
    payloads = [b"a" * 10, b"", b"xyz" * 1000]
    stream = b"".join(frame(p) for p in payloads)
    reader = FrameReader()
    got = []
    for i in range(0, len(stream), 7):
        reader.receive_data(stream[i : i + 7])
        while (f := reader.next_frame()) is not None:
            got.append(bytes(f))
    assert got == payloads


def test_incomplete_frame_needs_more_data():
    reader = FrameReader()
    reader.receive_data(struct.pack(">i", 10) + b"12345")
    assert reader.next_frame() is None
    reader.receive_data(b"67890")
    assert reader.next_frame() == bytearray(b"1234567890")


def test_frame_over_the_limit_is_rejected_before_buffering_it():
    reader = FrameReader(max_frame_size=1024)
    reader.receive_data(struct.pack(">i", 2**31 - 1))
    with pytest.raises(FrameTooLarge, match="exceeds the maximum"):
        reader.next_frame()


def test_negative_frame_size_is_invalid():
    reader = FrameReader()
    reader.receive_data(struct.pack(">i", -5))
    with pytest.raises(InvalidFrame, match="negative"):
        reader.next_frame()


def test_has_frame_says_whether_a_whole_frame_is_buffered_without_consuming_it():
    reader = FrameReader()
    assert not reader.has_frame()
    reader.receive_data(struct.pack(">i", 3) + b"ab")
    assert not reader.has_frame()
    reader.receive_data(b"c" + struct.pack(">i", 1))
    assert reader.has_frame() and reader.has_frame()  # asking twice consumes nothing
    assert reader.next_frame() == bytearray(b"abc")
    assert not reader.has_frame()  # the next size prefix came, not its byte
    reader.receive_data(b"d")
    assert reader.has_frame()
    assert reader.next_frame() == bytearray(b"d")
    assert reader.buffered == 0


@pytest.mark.parametrize("size", [-1, 1025])
def test_has_frame_counts_a_bad_size_prefix_so_the_caller_hits_its_error(size):
    reader = FrameReader(max_frame_size=1024)
    reader.receive_data(struct.pack(">i", size))
    assert reader.has_frame()
    with pytest.raises(InvalidFrame):  # FrameTooLarge is one
        reader.next_frame()


def test_request_header_with_client_id():
    raw = struct.pack(">hhih", 3, 12, 77, 6) + b"client" + b"rest"
    header, offset = parse_request_header(raw)
    assert (header.api_key, header.api_version, header.correlation_id) == (3, 12, 77)
    assert header.client_id == "client"
    assert raw[offset:] == b"rest"


def test_request_header_with_null_client_id():
    header, offset = parse_request_header(struct.pack(">hhih", 18, 3, 1, -1))
    assert header.client_id is None and offset == 10


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x03", struct.pack(">hhih", 3, 1, 1, 50) + b"short"],
    ids=["empty", "truncated-fixed-part", "client-id-past-end"],
)
def test_truncated_request_headers_are_rejected(raw):
    with pytest.raises(InvalidFrame):
        parse_request_header(raw)


def test_tagged_fields_are_skipped():
    # two tags: tag 0 with 3 bytes, tag 9 with 1 byte
    raw = bytes([2, 0, 3, 1, 2, 3, 9, 1, 0xFF]) + b"after"
    assert raw[skip_tagged_fields(raw, 0) :] == b"after"


def test_truncated_tagged_field_is_rejected():
    with pytest.raises(InvalidFrame):
        skip_tagged_fields(bytes([1, 0, 10, 1]), 0)


def test_overlong_varint_is_rejected():
    with pytest.raises(InvalidFrame):
        read_uvarint(b"\xff\xff\xff\xff\xff\xff", 0)
