"""Helpers for the consumer-group interop tests: several real consumers polled in
turn from one thread, with bounded loops (every wait has a deadline)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Producer

from streamtest.kit.wait import eventually

#: Fast eviction and rebalances for tests; the broker's minimum is Kafka's 6000 ms.
FAST_GROUP = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}


def group_id() -> str:
    """Return a group id unique to this test."""
    return f"g-{uuid.uuid4().hex[:10]}"


def consumer(bootstrap: str, group: str, **config: Any) -> Consumer:
    """Return a confluent-kafka group consumer reading from the earliest offset."""
    fast = {} if config.get("group.protocol") == "consumer" else FAST_GROUP  # KIP-848: broker-side
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     **fast, **config})


def produce(bootstrap: str, topic: str, partitions: int, count: int, start: int = 0) -> set[str]:
    """Produce ``count`` values round-robin over ``partitions``; return the values."""
    producer = Producer({"bootstrap.servers": bootstrap})
    values = set()
    for i in range(start, start + count):
        value = f"v{i}"
        producer.produce(topic, value.encode(), partition=i % partitions)
        values.add(value)
    assert producer.flush(10) == 0
    return values


class Pump:
    """Polls several consumers in turn, recording what each receives.

    With ``commit=True`` each consumer commits synchronously after every
    non-empty batch, so a partition that moves is resumed exactly where it was.
    """

    def __init__(self, consumers: list[Consumer], commit: bool = True) -> None:
        self.consumers = list(consumers)
        self.commit = commit
        self.received: dict[int, list[tuple[int, str]]] = {id(c): [] for c in consumers}

    def step(self) -> None:
        """Give every consumer one short poll."""
        for c in self.consumers:
            batch = [m for m in c.consume(num_messages=500, timeout=0.05) if not m.error()]
            if batch:
                self.received[id(c)].extend((m.partition(), m.value().decode()) for m in batch)
                if self.commit:
                    c.commit(asynchronous=False)

    def until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Keep polling until ``condition()`` holds.

        Raises:
            AssertionError: it did not within ``timeout`` seconds.
        """

        def check() -> bool:
            self.step()
            return condition()

        eventually(check, timeout=timeout, interval=0)

    def values(self, c: Consumer | None = None) -> list[str]:
        """Return the values one consumer (or all) received, duplicates included."""
        sources = [self.received[id(c)]] if c is not None else list(self.received.values())
        return [v for rows in sources for _, v in rows]


def partitions_of(c: Consumer) -> set[int]:
    """Return the partitions assigned to ``c``."""
    return {tp.partition for tp in c.assignment()}
