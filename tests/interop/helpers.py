"""Helpers for interop tests: create topics and read them back with real clients."""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamtest.protocol.records import BatchHeader


def create_topic(bootstrap: str, name: str, partitions: int = 1, **config: str) -> None:
    """Create a topic through confluent-kafka's AdminClient and wait for it."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=dict(config))])
    futures[name].result(10)


def consume_all(
    bootstrap: str,
    topic: str,
    partitions: int,
    expected: int,
    timeout: float = 15.0,
    **config: Any,
) -> list[Any]:
    """Read ``expected`` messages from every partition of ``topic`` via assign().

    Raises:
        AssertionError: fewer messages arrived before ``timeout``.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            **config,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                if msg.error():
                    raise AssertionError(f"consume error: {msg.error()}")
                out.append(msg)
        assert len(out) == expected, f"got {len(out)} of {expected} messages"
        return out
    finally:
        consumer.close()


def fetch_batch_headers(
    bootstrap: str, topic: str, partition: int, timeout: float = 10.0
) -> list[BatchHeader]:
    """Return the headers of every record batch stored in one partition, as the broker
    sends them in a Fetch (v4, read_uncommitted) from offset 0.

    Clients hide batch attributes (compression codec, producer id, sequence), so
    tests that check them read the raw batches through streamtest's own protocol
    layer, from any broker (the embedded one or Apache Kafka).

    Raises:
        AssertionError: the broker answered with an error code.
    """
    import socket
    import struct

    from streamtest.protocol import codec
    from streamtest.protocol.records import split_batches

    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    headers: list[BatchHeader] = []
    offset, high_watermark = 0, None
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        for correlation_id in range(1, 1000):
            request = codec.build(
                codec.request_schema(1, 4),
                {
                    "replica_id": -1,
                    "max_wait": 0,
                    "min_bytes": 0,
                    "max_bytes": 16 << 20,
                    "isolation_level": 0,
                    "topics": [
                        {
                            "topic": topic,
                            "partitions": [
                                {
                                    "partition": partition,
                                    "fetch_offset": offset,
                                    "partition_max_bytes": 16 << 20,
                                }
                            ],
                        }
                    ],
                },
            )
            client_id = b"streamtest-batch-reader"
            header = struct.pack(">hhih", 1, 4, correlation_id, len(client_id)) + client_id
            payload = header + codec.encode(request)
            sock.sendall(struct.pack(">i", len(payload)) + payload)
            frame = _read_frame(sock)
            assert struct.unpack_from(">i", frame)[0] == correlation_id
            response, _ = codec.decode(codec.response_schema(1, 4), frame, 4)
            data = response.responses[0].partitions[0]
            assert int(data.error_code) == 0, f"Fetch {topic}[{partition}]: {data.error_code!r}"
            high_watermark = data.high_watermark
            batches = split_batches(memoryview(bytes(data.records or b"")))
            headers += [h for h, _ in batches]
            if batches:
                offset = batches[-1][0].last_offset + 1
            if not batches or offset >= high_watermark:
                return headers
    raise AssertionError(f"{topic}[{partition}]: no end after 1000 fetches")


def _read_frame(sock: Any) -> bytes:
    """Read one size-prefixed response frame from ``sock``."""
    import struct

    def exactly(n: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            chunk = sock.recv(n - len(chunks))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            chunks += chunk
        return bytes(chunks)

    (size,) = struct.unpack(">i", exactly(4))
    return exactly(size)
