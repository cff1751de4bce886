"""Hypothesis fuzzing of the sans-I/O protocol layer and the dispatcher's decoders.

Whatever bytes arrive, the protocol layer either yields requests or raises a
``RemoteProtocolError`` (which closes the connection); nothing else escapes.
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from streamtest.broker import apis  # noqa: F401  (registers the APIs)
from streamtest.broker.dispatch import REGISTRY, flexible_lookup
from streamtest.protocol import codec
from streamtest.protocol.connection import ServerConnection
from streamtest.protocol.exceptions import RemoteProtocolError
from streamtest.protocol.produce import decode_produce_request
from streamtest.protocol.records import split_batches


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512), st.integers(min_value=1, max_value=64))
def test_random_streams_yield_requests_or_protocol_errors(data, chunk):
    conn = ServerConnection(flexible_lookup, max_frame_size=4096)
    try:
        for i in range(0, len(data), chunk):
            conn.receive_data(data[i : i + chunk])
            while conn.next_request() is not None:
                pass
    except RemoteProtocolError:
        pass


_SUPPORTED = sorted(
    (k, v) for k, s in REGISTRY.items() for v in range(s.min_version, s.max_version + 1)
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_SUPPORTED), st.binary(max_size=256))
def test_request_bodies_decode_or_raise_protocol_error(key_version, body):
    key, version = key_version
    frame = bytearray(body)
    try:
        if REGISTRY[key].raw:
            decode_produce_request(frame, 0, version)
        else:
            codec.decode(codec.request_schema(key, version), frame, 0)
    except RemoteProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_record_sets_split_or_raise_corrupt(data):
    try:
        split_batches(memoryview(bytearray(data)))
    except RemoteProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_any_frame_size_prefix_is_handled(size):
    conn = ServerConnection(flexible_lookup, max_frame_size=1 << 20)
    conn.receive_data(struct.pack(">i", size))
    try:
        assert conn.next_request() is None or size >= 10
    except RemoteProtocolError:
        assert size < 10 or size > (1 << 20) or size < 0
