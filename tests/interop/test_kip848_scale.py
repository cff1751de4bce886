"""Issue 14, item 11: a KIP-848 group of 200 librdkafka members must resume every
partition from its committed offset, never from auto.offset.reset.

The report (200 members re-reading from offset 0 while the committed offset was
50) matched librdkafka issues #4637 and #4686. Against streamtest and against
Apache Kafka 4.4, with librdkafka 2.12 and 2.16, no partition was re-read: with
200 members joining at once (this test), joining 50 ms apart while committing
every 200 ms, or with half of them leaving one by one (run by hand, on both brokers
and both client versions). The broker's part, answering OffsetFetch with the
committed offset for a member at its current epoch, is what this test pins down.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamtest import EmbeddedKafka, eventually

pytestmark = [pytest.mark.interop, pytest.mark.slow]

MEMBERS = PARTITIONS = 200
COMMITTED = 50


def test_200_kip848_members_resume_from_the_committed_offsets():
    with EmbeddedKafka() as kafka:
        bootstrap = kafka.bootstrap_servers
        topic, group = f"scale-{uuid.uuid4().hex[:6]}", f"scale-{uuid.uuid4().hex[:6]}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
        for partition in range(PARTITIONS):
            for _ in range(COMMITTED + 10):
                producer.produce(topic, b"v", partition=partition)
        assert producer.flush(60) == 0
        admin.alter_consumer_group_offsets(
            [
                ConsumerGroupTopicPartitions(
                    group, [TopicPartition(topic, p, COMMITTED) for p in range(PARTITIONS)]
                )
            ]
        )[group].result(30)

        first: dict[int, int] = {}
        lock, stop = threading.Lock(), threading.Event()

        def member() -> None:
            consumer = Consumer(
                {
                    "bootstrap.servers": bootstrap,
                    "group.id": group,
                    "group.protocol": "consumer",
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": False,
                }
            )
            consumer.subscribe([topic])
            try:
                while not stop.is_set():
                    msg = consumer.poll(0.2)
                    if msg is not None and not msg.error():
                        with lock:
                            first.setdefault(msg.partition(), msg.offset())
            finally:
                consumer.close()

        threads = [threading.Thread(target=member, daemon=True) for _ in range(MEMBERS)]
        for t in threads:
            t.start()
        try:
            eventually(lambda: len(first) >= PARTITIONS, timeout=180, interval=0.2)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
    assert len(first) == PARTITIONS
    reread = {p: o for p, o in first.items() if o != COMMITTED}
    assert reread == {}, f"partitions not resumed at {COMMITTED}: {reread}"
