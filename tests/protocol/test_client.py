"""The sans-I/O client connection: requests to bytes, bytes to decoded responses,
with no socket. Our own ServerConnection parses what it sends, and answers are
built with the same codec the broker uses."""

from __future__ import annotations

import struct

import pytest

from streamtest.protocol import (
    ClientConnection,
    InvalidFrame,
    LocalProtocolError,
    RemoteProtocolError,
    ServerConnection,
    codec,
)
from streamtest.protocol.client import build_request


def MetadataRequest(**fields):  # noqa: N802 (reads like the kio class it builds)
    return build_request(3, 12, fields)


def ApiVersionsRequest(**fields):  # noqa: N802
    return build_request(18, 3, fields)


def _server() -> ServerConnection:
    def lookup(key: int, version: int) -> bool | None:
        try:
            return codec.is_flexible(key, version)
        except LookupError:
            return None

    return ServerConnection(lookup)


def _answer(server: ServerConnection, data: bytes, body: dict) -> bytes:
    """Parse the request in ``data`` with our server end and frame ``body`` for it."""
    server.receive_data(data)
    request = server.next_request()
    assert request is not None
    cls = codec.response_schema(request.header.api_key, request.header.api_version)
    encoded = codec.encode(codec.build(cls, body))
    return b"".join(bytes(b) for b in server.response_buffers(request, encoded))


METADATA_BODY = {
    "throttle_time": 0,
    "brokers": [{"node_id": 1, "host": "h", "port": 9092, "rack": None}],
    "cluster_id": "c",
    "controller_id": 1,
    "topics": [],
}


def test_request_header_carries_key_version_correlation_and_client_id():
    client = ClientConnection(client_id="fid")
    data = client.send_request(MetadataRequest(topics=None, allow_auto_topic_creation=False))
    server = _server()
    server.receive_data(data)
    request = server.next_request()
    assert request is not None
    assert (request.header.api_key, request.header.api_version) == (3, 12)
    assert request.header.correlation_id == 1
    assert request.header.client_id == "fid"
    assert request.flexible is True
    body, end = codec.decode(codec.request_schema(3, 12), request.frame, request.body_offset)
    assert end == len(request.frame)
    assert body.allow_auto_topic_creation is False


def test_flexible_response_is_decoded_for_the_requests_version():
    client, server = ClientConnection(), _server()
    reply = _answer(server, client.send_request(MetadataRequest(topics=())), METADATA_BODY)
    client.receive_data(reply)
    response = client.next_response()
    assert response is not None
    assert (response.api_key, response.api_version, response.correlation_id) == (3, 12, 1)
    assert type(response.body).__name__ == "MetadataResponse"
    assert response.body.brokers[0].port == 9092
    assert response.body.cluster_id == "c"
    assert client.next_response() is None
    assert client.in_flight == 0


def test_legacy_version_response_has_no_header_tags():
    client, server = ClientConnection(), _server()
    data = client.send_request(build_request(3, 1, {"topics": None}))
    client.receive_data(_answer(server, data, METADATA_BODY))
    response = client.next_response()
    assert response is not None and response.api_version == 1
    assert response.body.controller_id == 1


def test_responses_split_across_reads_and_pipelined_requests_come_back_in_order():
    client, server = ClientConnection(), _server()
    first = client.send_request(MetadataRequest(topics=()))
    second = client.send_request(
        ApiVersionsRequest(client_software_name="x", client_software_version="1")
    )
    reply = _answer(server, first, METADATA_BODY) + _answer(
        server,
        second,
        {"error_code": 0, "api_keys": [{"api_key": 18, "min_version": 0, "max_version": 3}]},
    )
    got = []
    for i in range(len(reply)):  # one byte at a time
        client.receive_data(reply[i : i + 1])
        while (response := client.next_response()) is not None:
            got.append((response.correlation_id, response.api_key))
    assert got == [(1, 3), (2, 18)]


def test_api_versions_uses_response_header_v0_even_when_flexible():
    client, server = ClientConnection(), _server()
    data = client.send_request(
        ApiVersionsRequest(client_software_name="x", client_software_version="1")
    )
    reply = _answer(
        server,
        data,
        {"error_code": 0, "api_keys": [{"api_key": 3, "min_version": 0, "max_version": 12}]},
    )
    # size, correlation id, then the body's error code straight away: no tag byte.
    assert reply[8:10] == b"\x00\x00"
    client.receive_data(reply)
    response = client.next_response()
    assert response is not None and response.body.api_keys[0].max_version == 12


def test_unsupported_api_versions_version_is_decoded_as_v0():
    client = ClientConnection()
    client.send_raw(18, 99, b"")
    # The broker's v0-format answer: error 35 and its ApiVersions range.
    body = struct.pack(">hi", 35, 1) + struct.pack(">hhh", 18, 0, 4)
    client.receive_data(struct.pack(">ii", 4 + len(body), 1) + body)
    response = client.next_response()
    assert response is not None
    assert (response.api_version, response.decoded_version) == (99, 0)
    assert response.body.error_code == 35
    assert response.body.api_keys[0].max_version == 4


def test_a_response_out_of_order_is_a_remote_protocol_error():
    client = ClientConnection()
    client.send_raw(18, 0, b"")
    client.send_raw(18, 0, b"")
    client.receive_data(struct.pack(">ii", 4, 2))
    with pytest.raises(RemoteProtocolError, match="expected 1"):
        client.next_response()


def test_a_response_to_nothing_is_a_remote_protocol_error():
    client = ClientConnection()
    client.receive_data(struct.pack(">ii", 4, 7))
    with pytest.raises(RemoteProtocolError, match="to no request"):
        client.next_response()


def test_acks_zero_produce_expects_no_response():
    client = ClientConnection()
    client.send_raw(0, 9, b"", expect_response=False)
    assert client.in_flight == 0


def test_trailing_bytes_after_the_body_are_an_error():
    client = ClientConnection()
    client.send_raw(18, 0, b"")
    body = struct.pack(">hi", 0, 0) + b"junk"
    client.receive_data(struct.pack(">ii", 4 + len(body), 1) + body)
    with pytest.raises(InvalidFrame, match="ends at byte"):
        client.next_response()


def test_truncated_body_is_an_error_not_a_crash():
    client = ClientConnection()
    client.send_raw(18, 0, b"")
    client.receive_data(struct.pack(">ii", 6, 1) + b"\x00")
    client.receive_data(b"\x00")
    with pytest.raises(RemoteProtocolError):
        client.next_response()


def test_sending_something_that_is_not_a_request_is_a_local_error():
    client = ClientConnection()
    response_cls = codec.response_schema(18, 0)
    with pytest.raises(LocalProtocolError):
        client.send_request(response_cls(error_code=0, api_keys=()))
    with pytest.raises(LocalProtocolError):
        client.send_request("not an entity")
    assert client.in_flight == 0


def test_raw_header_for_a_version_without_schema_is_v1_and_ids_increase():
    client = ClientConnection(client_id=None)
    data = client.send_raw(3, 999, b"\x01\x02")
    cid = client.send_raw(3, 0, b"")
    key, version, correlation, client_len = struct.unpack_from(">hhih", data, 4)
    assert (key, version, correlation, client_len) == (3, 999, 1, -1)
    assert data[14:] == b"\x01\x02"
    assert struct.unpack_from(">i", cid, 8)[0] == 2
    assert [p.correlation_id for p in client.pending] == [1, 2]


def test_topic_entities_round_trip_through_the_server_end():
    client, server = ClientConnection(), _server()
    data = client.send_request(MetadataRequest(topics=[{"topic_id": None, "name": "a"}]))
    server.receive_data(data)
    request = server.next_request()
    assert request is not None
    body, _ = codec.decode(codec.request_schema(3, 12), request.frame, request.body_offset)
    assert [t.name for t in body.topics] == ["a"]


def test_build_request_for_a_version_kio_lacks_is_a_local_error():
    with pytest.raises(LocalProtocolError, match="no request schema"):
        build_request(3, 999)


def test_build_request_rejects_a_field_no_version_has():
    with pytest.raises(LocalProtocolError, match="partitons"):
        build_request(24, 3, {"v3_and_below_topics": [{"name": "t", "partitons": [0]}]})
    # A field of another version is dropped, as the version lacks it.
    entity = build_request(3, 0, {"topics": [], "allow_auto_topic_creation": True})
    assert not hasattr(entity, "allow_auto_topic_creation")
