"""Bad input over real sockets: each gets a Kafka error code or a logged close, the
broker keeps serving other clients, and acknowledged data stays intact."""

from __future__ import annotations

import os
import random
import socket
import struct

import pytest
from confluent_kafka import Producer
from kio.schema.api_versions.v3.request import ApiVersionsRequest
from kio.schema.metadata.v12.request import MetadataRequest

from streamtest import EmbeddedKafka
from streamtest.protocol.records import RecordInput, build_batch

from .rawclient import RawClient, request_bytes


@pytest.fixture
def kafka():
    with EmbeddedKafka(partitions=1) as k:
        yield k


def _ack_some(kafka: EmbeddedKafka, topic: str) -> list[bytes]:
    p = Producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "all"})
    values = [f"v{i}".encode() for i in range(20)]
    for v in values:
        p.produce(topic, value=v)
    assert p.flush(10) == 0
    return values


def _still_serving(kafka: EmbeddedKafka) -> None:
    c = RawClient(kafka.bootstrap_servers)
    try:
        resp = c.call(ApiVersionsRequest(client_software_name="t", client_software_version="1"))
        assert resp.error_code == 0 and resp.api_keys
    finally:
        c.close()


# Random bytes may well start with a plausible frame size, for which the broker
# rightly waits for the rest of the frame; those streams end with EOF (half-close),
# and the broker must then drop the connection.
_RANDOM = {f"random-bytes-{seed}": random.Random(seed).randbytes(64) for seed in range(4)}
_THEN_EOF = {"truncated-frame-then-eof", *_RANDOM}

BAD_STREAMS = {
    **_RANDOM,
    # Fresh random bytes each run, with the sign bit set so the size is invalid.
    "random-bytes-this-run": bytes([0x80 | os.urandom(1)[0]]) + os.urandom(63),
    "truncated-frame-then-eof": struct.pack(">i", 100) + b"\x00\x03",
    "frame-size-2GiB": struct.pack(">i", 2**31 - 1) + b"\x00" * 16,
    "negative-frame-size": struct.pack(">i", -1),
    "frame-shorter-than-header": struct.pack(">i", 3) + b"\x00\x03\x00",
    "unknown-api-key": request_bytes(9999, 0, b"", flexible=False),
    "unsupported-metadata-version": request_bytes(3, 99, b"", flexible=False),
    "garbage-body": request_bytes(3, 12, b"\xff" * 7),
}


@pytest.mark.parametrize("name", BAD_STREAMS)
def test_bad_input_closes_only_that_connection_and_loses_nothing(kafka, name):
    values = _ack_some(kafka, "acked")
    bad = RawClient(kafka.bootstrap_servers, timeout=5)
    bad.send_raw(BAD_STREAMS[name])
    if name in _THEN_EOF:
        bad.sock.shutdown(socket.SHUT_WR)
    assert bad.is_closed_by_peer()
    bad.close()
    _still_serving(kafka)
    assert [r.value for r in kafka.records("acked")] == values


def test_too_new_api_versions_gets_v0_unsupported_version_reply(kafka):
    c = RawClient(kafka.bootstrap_servers)
    c.send_raw(request_bytes(18, 99, b"\x00\x00\x00", flexible=True))
    frame = c.read_frame()
    assert frame is not None
    cid, error_code, n = struct.unpack_from(">ihi", frame, 0)
    assert (cid, error_code) == (1, 35)  # UNSUPPORTED_VERSION
    # As Kafka: only ApiVersions' own range, all the client needs to retry.
    assert n == 1
    assert struct.unpack_from(">hhh", frame, 10) == (18, 0, 4)
    c.close()


def test_api_versions_v3_with_an_invalid_software_name_is_invalid_request(kafka):
    from streamtest.protocol import codec

    body = codec.encode(
        codec.build(
            codec.request_schema(18, 3),
            {"client_software_name": "bad name!", "client_software_version": "1.0"},
        )
    )
    c = RawClient(kafka.bootstrap_servers)
    c.send_raw(request_bytes(18, 3, body))
    frame = c.read_frame()
    assert frame is not None
    response, _ = codec.decode(codec.response_schema(18, 3), frame, 4)
    assert int(response.error_code) == 42  # INVALID_REQUEST
    assert response.api_keys == ()
    c.close()


def test_corrupt_crc_gets_corrupt_message_and_is_not_appended(kafka):
    from streamtest.protocol.produce import decode_produce_request  # noqa: F401

    batch = bytearray(build_batch([RecordInput(b"k", b"v")]))
    batch[-1] ^= 0x01
    body = _produce_body("crc-topic", 0, bytes(batch))
    kafka.create_topic("crc-topic")
    c = RawClient(kafka.bootstrap_servers)
    c.send_raw(request_bytes(0, 8, body, flexible=False))
    frame = c.read_frame()
    assert frame is not None
    # v8 response: cid | topics(1) | name | partitions(1) | index | error_code
    off = 4 + 4 + 2 + len("crc-topic") + 4 + 4
    (error_code,) = struct.unpack_from(">h", frame, off)
    assert error_code == 2  # CORRUPT_MESSAGE
    assert kafka.records("crc-topic") == []
    _still_serving(kafka)


def test_batch_over_max_message_bytes_gets_message_too_large(kafka):
    kafka.create_topic("small", config={"max.message.bytes": "200"})
    batch = bytes(build_batch([RecordInput(b"k", b"x" * 500)]))
    c = RawClient(kafka.bootstrap_servers)
    c.send_raw(request_bytes(0, 8, _produce_body("small", 0, batch), flexible=False))
    frame = c.read_frame()
    off = 4 + 4 + 2 + len("small") + 4 + 4
    (error_code,) = struct.unpack_from(">h", frame, off)
    assert error_code == 10  # MESSAGE_TOO_LARGE
    assert kafka.records("small") == []


def test_acks_zero_gets_no_response_but_is_appended(kafka):
    kafka.create_topic("acks0")
    batch = bytes(build_batch([RecordInput(b"k", b"fire-and-forget")]))
    body = bytearray(_produce_body("acks0", 0, batch))
    struct.pack_into(">h", body, 2, 0)  # acks = 0 (after the null transactional_id)
    c = RawClient(kafka.bootstrap_servers, timeout=5)
    c.send_raw(request_bytes(0, 8, bytes(body), correlation_id=7, flexible=False))
    # The next request's answer is the first frame we get back: acks=0 had none.
    resp = c.call(
        MetadataRequest(
            topics=None, allow_auto_topic_creation=False, include_topic_authorized_operations=False
        ),
        correlation_id=8,
    )
    assert any(t.name == "acks0" for t in resp.topics)
    assert [r.value for r in kafka.records("acks0")] == [b"fire-and-forget"]


def _produce_body(topic: str, partition: int, records: bytes) -> bytes:
    out = struct.pack(">hhi", -1, -1, 5000)  # null txn id, acks=-1, timeout
    out += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic.encode()
    out += struct.pack(">i", 1) + struct.pack(">i", partition)
    out += struct.pack(">i", len(records)) + records
    return out
