"""Quick start: the streamtest pytest plugin in a few lines per test.

Installing streamtest registers the plugin; these fixtures need no conftest:

- ``kafka``: the session's cluster (the embedded broker unless you choose
  ``--kafka-backend kafka|redpanda|external``);
- ``kafka_topic``: a fresh topic for each test, deleted afterwards;
- ``kafka_producer`` / ``kafka_consumer`` / ``kafka_admin``: confluent-kafka clients.

Nothing here sleeps: ``eventually`` polls until the expected output is there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer

from streamtest import Cluster, TopicFactory, eventually


def test_send_and_read_back(kafka: Cluster, kafka_topic: str) -> None:
    # Pairs are (key, value); str is sent as UTF-8, dicts and lists as JSON.
    kafka.send(kafka_topic, [("user-1", "login"), ("user-2", {"page": "/cart"})])

    records = kafka.records(kafka_topic)  # everything up to the high watermark

    assert [(r.key, r.value) for r in records] == [
        (b"user-1", b"login"),
        (b"user-2", b'{"page":"/cart"}'),
    ]
    assert [r.offset for r in records] == [0, 1]


@pytest.mark.kafka_topic(partitions=3, config={"retention.ms": 3_600_000})
def test_a_topic_with_three_partitions(kafka: Cluster, kafka_topic: str) -> None:
    placed = kafka.send(kafka_topic, [(f"user-{i % 5}", i) for i in range(30)])
    # The same key always lands on the same partition.
    partition_of: dict[int, set[int]] = {}
    for i, (partition, _offset) in enumerate(placed):
        partition_of.setdefault(i % 5, set()).add(partition)
    assert all(len(p) == 1 for p in partition_of.values())
    assert len(kafka.records(kafka_topic)) == 30


def test_more_topics_from_the_factory(kafka: Cluster, kafka_topic_factory: TopicFactory) -> None:
    orders = kafka_topic_factory(partitions=2)
    audit = kafka_topic_factory("audit-log", config={"cleanup.policy": "compact"})
    kafka.send(orders, ["o-1"])
    assert kafka.records(audit) == []
    assert len(kafka.records(orders)) == 1


# -- a small pipeline under test ----------------------------------------------------------


def uppercase_pipeline(
    consumer: Consumer, producer: Producer, sink: str, stop: threading.Event
) -> None:
    """The code under test: read the source, write upper-cased values to ``sink``."""
    while not stop.is_set():
        msg = consumer.poll(0.05)
        if msg is None or msg.error():
            continue
        producer.produce(sink, key=msg.key(), value=msg.value().upper())
        producer.flush(5)


@pytest.fixture
def running_pipeline(
    kafka: Cluster,
    kafka_topic: str,
    kafka_topic_factory: TopicFactory,
    kafka_consumer: Consumer,
    kafka_producer: Producer,
) -> Iterator[tuple[str, str]]:
    """Start the pipeline in a thread; stop and join it after the test (no leaks)."""
    sink = kafka_topic_factory()
    kafka_consumer.subscribe([kafka_topic])  # a unique group, reading from the earliest
    stop = threading.Event()
    worker = threading.Thread(
        target=uppercase_pipeline, args=(kafka_consumer, kafka_producer, sink, stop)
    )
    worker.start()
    yield kafka_topic, sink
    stop.set()
    worker.join(10)


def test_pipeline_output_without_sleeping(
    kafka: Cluster, running_pipeline: tuple[str, str]
) -> None:
    source, sink = running_pipeline
    kafka.send(source, [("k1", "hello"), ("k2", "world")])

    # Poll the sink until the pipeline has caught up; fail with the last value seen.
    eventually(lambda: [r.value for r in kafka.records(sink)] == [b"HELLO", b"WORLD"], timeout=30)
