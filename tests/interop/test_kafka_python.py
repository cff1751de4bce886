"""kafka-python against the embedded broker, over real sockets."""

from __future__ import annotations

import time

import kafka
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

pytestmark = pytest.mark.interop


def _read(bootstrap: str, topic: str, partitions: int, expected: int) -> list:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        consumer.seek_to_beginning()
        out: list = []
        deadline = time.monotonic() + 15
        while len(out) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                out.extend(records)
        assert len(out) == expected, f"got {len(out)} of {expected}"
        return out
    finally:
        consumer.close()


def test_kafka_python_version_is_recorded():
    assert kafka.__version__


def test_admin_create_and_keyed_round_trip(bootstrap, topic_name):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic_name, num_partitions=3, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    sent = []
    for i in range(120):
        key = f"k{i % 7}".encode()
        value = f"value-{i}".encode()
        headers = [("n", str(i).encode())]
        producer.send(topic_name, key=key, value=value, headers=headers, timestamp_ms=1000 + i)
        sent.append((key, value, headers, 1000 + i))
    producer.flush(15)
    producer.close()
    got = _read(bootstrap, topic_name, 3, len(sent))
    partitions_of: dict[bytes, set[int]] = {}
    for r in got:
        partitions_of.setdefault(r.key, set()).add(r.partition)
    assert all(len(p) == 1 for p in partitions_of.values())
    assert sorted((r.key, r.value, list(r.headers), r.timestamp) for r in got) == sorted(sent)
    for p in range(3):
        offsets = [r.offset for r in got if r.partition == p]
        assert offsets == list(range(len(offsets)))


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_compression(broker, bootstrap, topic_name, codec):
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, linger_ms=10)
    values = [(f"message {i} " * 10).encode() for i in range(200)]
    for v in values:
        producer.send(topic_name, value=v)
    producer.flush(15)
    producer.close()
    got = _read(bootstrap, topic_name, 1, len(values))
    assert [r.value for r in got] == values
    assert [r.value for r in broker.records(topic_name)] == values


def test_offsets_for_times_and_end_offsets(bootstrap, topic_name):
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(5):
        producer.send(topic_name, value=b"x", timestamp_ms=5000 + i * 10).get(10)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tp = TopicPartition(topic_name, 0)
        found = consumer.offsets_for_times({tp: 5015})[tp]
        assert (found.offset, found.timestamp) == (2, 5020)
        assert consumer.end_offsets([tp])[tp] == 5
        assert consumer.beginning_offsets([tp])[tp] == 0
    finally:
        consumer.close()


def test_delete_topic(broker, bootstrap, topic_name):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic_name, num_partitions=1, replication_factor=1)])
        assert topic_name in admin.list_topics()
        admin.delete_topics([topic_name])
        assert topic_name not in broker.topics()
    finally:
        admin.close()
