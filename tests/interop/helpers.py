"""Helpers for interop tests: create topics and read them back with real clients."""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


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
