"""Helpers for tests of the server's network behaviour: hand-built Produce and Fetch
requests, quota changes over the wire, and a look at the server side of a socket."""

from __future__ import annotations

import struct
from typing import Any

from streamtest import EmbeddedKafka
from streamtest.protocol import codec
from streamtest.protocol.records import RecordInput, build_batch

from .rawclient import RawClient, request_bytes


def produce_request(
    topic: str,
    value: bytes,
    correlation_id: int = 1,
    client_id: str = "raw",
    version: int = 8,
    acks: int = 1,
) -> bytes:
    """Return a framed Produce request (v3-v8) of one record to partition 0."""
    assert 3 <= version <= 8
    batch = bytes(build_batch([RecordInput(None, value)]))
    name = topic.encode()
    body = (
        struct.pack(">hhi", -1, acks, 30_000)
        + struct.pack(">ih", 1, len(name))
        + name
        + struct.pack(">iii", 1, 0, len(batch))
        + batch
    )
    return request_bytes(0, version, body, correlation_id, client_id, flexible=False)


def produce_throttle_ms(frame: bytes) -> int:
    """Return ``throttle_time_ms`` of a Produce v1-v8 response frame (it comes last)."""
    (throttle,) = struct.unpack_from(">i", frame, len(frame) - 4)
    return throttle


def produce_error(frame: bytes, topic: str) -> int:
    """Return the error code of the one partition of a Produce v3-v8 response."""
    (error,) = struct.unpack_from(">h", frame, 4 + 4 + 2 + len(topic) + 4 + 4)
    return error


def fetch_request(
    topic: str,
    max_bytes: int = 1024 * 1024,
    max_wait_ms: int = 0,
    correlation_id: int = 1,
    client_id: str = "raw",
    offset: int = 0,
) -> bytes:
    """Return a framed Fetch v11 request for partition 0 of ``topic``."""
    cls = codec.request_schema(1, 11)
    entity = codec.build(
        cls,
        {
            "replica_id": -1,
            "max_wait": max_wait_ms,
            "min_bytes": 1,
            "max_bytes": max_bytes,
            "isolation_level": 0,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [
                {
                    "topic": topic,
                    "partitions": [
                        {
                            "partition": 0,
                            "current_leader_epoch": -1,
                            "fetch_offset": offset,
                            "log_start_offset": -1,
                            "partition_max_bytes": max_bytes,
                        }
                    ],
                }
            ],
            "forgotten_topics_data": [],
            "rack_id": "",
        },
    )
    return request_bytes(1, 11, codec.encode(entity), correlation_id, client_id)


def decode_fetch(frame: bytes) -> Any:
    """Decode a Fetch v11 response frame."""
    value, _ = codec.decode(codec.response_schema(1, 11), frame, 4)
    return value


def alter_quotas(
    client: RawClient, entries: list[dict[str, Any]], validate_only: bool = False
) -> Any:
    """Send AlterClientQuotas v1; return the decoded response."""
    cls = codec.request_schema(49, 1)
    return client.call(codec.build(cls, {"entries": entries, "validate_only": validate_only}))


def set_quota(bootstrap: str, entity: dict[str, str | None], **values: float) -> None:
    """Set quota values on an entity over the wire (AlterClientQuotas)."""
    admin = RawClient(bootstrap)
    try:
        resp = alter_quotas(
            admin,
            [
                {
                    "entity": [{"entity_type": t, "entity_name": n} for t, n in entity.items()],
                    "ops": [{"key": k, "value": v, "remove": False} for k, v in values.items()],
                }
            ],
        )
    finally:
        admin.close()
    assert [int(e.error_code) for e in resp.entries] == [0], resp


def server_connection(cluster: Any, client: RawClient) -> Any:
    """Return the server side (``KafkaProtocol``) of ``client``'s connection; call
    it on the cluster's loop.

    Raises:
        LookupError: the broker has no such connection (yet, or any more).
    """
    host, port = client.sock.getsockname()[:2]
    peer = f"{host}:{port}"
    for node in cluster.nodes.values():
        for conn in node.connections:
            if conn.peer == peer:
                return conn
    raise LookupError(f"no server connection for {peer}")


def server_side(kafka: EmbeddedKafka, client: RawClient) -> dict[str, Any]:
    """Return the server's view of ``client``'s connection (thread mode).

    Raises:
        LookupError: the broker has no such connection.
    """

    def look(cluster: Any) -> dict[str, Any]:
        conn = server_connection(cluster, client)
        return {
            "node": conn.node.node_id,
            "served": conn.requests_served,
            "reading": conn.reading,
            "throttled": conn.throttled,
            "busy": conn.busy,
            "unsent": conn.unsent_bytes,
            "buffered": conn.conn.buffered,
            "admitted": conn.admitted,
        }

    return kafka.call(look)
