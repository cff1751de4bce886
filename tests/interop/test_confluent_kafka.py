"""confluent-kafka (librdkafka) against the embedded broker, over real sockets."""

from __future__ import annotations

import random
import time

import confluent_kafka
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    ConfigResource,
    NewPartitions,
    ResourceType,
)

from streamtest.kit.compat import librdkafka_version

from .helpers import consume_all, create_topic

pytestmark = pytest.mark.interop
LIBRDKAFKA = ".".join(map(str, librdkafka_version(confluent_kafka.libversion())))


def test_librdkafka_version_is_recorded():
    assert LIBRDKAFKA.count(".") == 2


def test_keyed_records_round_trip_byte_exact_with_headers_and_timestamps(bootstrap, topic_name):
    create_topic(bootstrap, topic_name, partitions=4)
    rnd = random.Random(7)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, "acks": "all"})
    sent = []
    base_ts = 1_700_000_000_000
    for i in range(300):
        key = f"customer-{i % 13}".encode()
        value = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300)))
        headers = [
            ("trace", f"t{i}".encode()),
            ("bin", bytes([0, 255, i % 256])),
            ("trace", b"dup"),
        ]
        producer.produce(topic_name, key=key, value=value, headers=headers, timestamp=base_ts + i)
        sent.append((key, value, headers, base_ts + i))
    assert producer.flush(15) == 0

    got = consume_all(bootstrap, topic_name, 4, len(sent))
    by_key_partition: dict[bytes, set[int]] = {}
    for msg in got:
        by_key_partition.setdefault(msg.key(), set()).add(msg.partition())
    assert all(len(p) == 1 for p in by_key_partition.values()), "a key spread over partitions"
    assert len({p for s in by_key_partition.values() for p in s}) > 1, "all keys in one partition"

    # Per partition, offsets are contiguous and the order is the send order.
    sent_index = {(k, v, ts): n for n, (k, v, _h, ts) in enumerate(sent)}
    for partition in range(4):
        msgs = sorted((m for m in got if m.partition() == partition), key=lambda m: m.offset())
        assert [m.offset() for m in msgs] == list(range(len(msgs)))
        order = [sent_index[(m.key(), m.value(), m.timestamp()[1])] for m in msgs]
        assert order == sorted(order)
    received = sorted((m.key(), m.value(), m.headers(), m.timestamp()[1]) for m in got)
    assert received == sorted(sent)
    assert {m.timestamp()[0] for m in got} == {confluent_kafka.TIMESTAMP_CREATE_TIME}


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_every_compression_codec_round_trips(broker, bootstrap, topic_name, codec):
    create_topic(bootstrap, topic_name, partitions=2)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20}
    )
    values = [(f"record {i} " * 20).encode() for i in range(500)]
    for i, v in enumerate(values):
        producer.produce(topic_name, key=str(i % 5).encode(), value=v)
    assert producer.flush(15) == 0
    got = consume_all(bootstrap, topic_name, 2, len(values))
    assert sorted(m.value() for m in got) == sorted(values)
    # The broker stores batches as sent, and its inspection API decodes them too.
    assert sorted(r.value for r in broker.records(topic_name)) == sorted(values)


def test_offsets_for_times_finds_first_record_at_or_after(bootstrap, topic_name):
    create_topic(bootstrap, topic_name)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        producer.produce(topic_name, value=b"x", timestamp=1_000_000 + i * 1000)
        producer.flush(10)  # one batch per record: lookups must work inside and across batches
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "times"})
    try:
        asked = [TopicPartition(topic_name, 0, ts) for ts in (1_002_500, 1_000_000, 9_999_999)]
        answers = [consumer.offsets_for_times([tp], timeout=10)[0].offset for tp in asked]
        assert answers == [3, 0, -1]
        low, high = consumer.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10)
        assert (low, high) == (0, 10)
    finally:
        consumer.close()


def test_delete_records_advances_log_start(bootstrap, topic_name):
    create_topic(bootstrap, topic_name)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(20):
        producer.produce(topic_name, value=str(i).encode())
    producer.flush(10)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.delete_records([TopicPartition(topic_name, 0, 15)])
    result = list(futures.values())[0].result(10)
    assert result.low_watermark == 15
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "dr"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10)
        assert (low, high) == (15, 20)
        consumer.assign([TopicPartition(topic_name, 0, 15)])
        values = []
        deadline = time.monotonic() + 10
        while len(values) < 5 and time.monotonic() < deadline:
            for m in consumer.consume(10, timeout=0.2):
                assert not m.error(), m.error()
                values.append(m.value())
        assert values == [b"15", b"16", b"17", b"18", b"19"]
    finally:
        consumer.close()


def test_delete_topic(broker, bootstrap, topic_name):
    create_topic(bootstrap, topic_name, partitions=2)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    assert topic_name in admin.list_topics(timeout=10).topics
    admin.delete_topics([topic_name])[topic_name].result(10)
    assert topic_name not in broker.topics()
    assert topic_name not in admin.list_topics(timeout=10).topics


def test_log_append_time_topic_stamps_broker_time(bootstrap, topic_name):
    create_topic(bootstrap, topic_name, **{"message.timestamp.type": "LogAppendTime"})
    producer = Producer({"bootstrap.servers": bootstrap})
    before = int(time.time() * 1000)
    producer.produce(topic_name, value=b"x", timestamp=42)
    producer.flush(10)
    (msg,) = consume_all(bootstrap, topic_name, 1, 1)
    kind, ts = msg.timestamp()
    assert kind == confluent_kafka.TIMESTAMP_LOG_APPEND_TIME
    assert before <= ts <= int(time.time() * 1000)


def test_admin_configs_and_partitions(bootstrap, topic_name):
    create_topic(bootstrap, topic_name, partitions=1, **{"retention.ms": "1000"})
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ResourceType.TOPIC, topic_name)
    configs = admin.describe_configs([resource])[resource].result(10)
    assert configs["retention.ms"].value == "1000"
    assert configs["cleanup.policy"].value == "delete" and configs["cleanup.policy"].is_default

    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

    entry = ConfigEntry("retention.ms", "5000", incremental_operation=AlterConfigOpType.SET)
    change = ConfigResource(ResourceType.TOPIC, topic_name, incremental_configs=[entry])
    admin.incremental_alter_configs([change])[change].result(10)
    configs = admin.describe_configs([resource])[resource].result(10)
    assert configs["retention.ms"].value == "5000"

    admin.create_partitions([NewPartitions(topic_name, 3)])[topic_name].result(10)
    meta = admin.list_topics(topic_name, timeout=10)
    assert len(meta.topics[topic_name].partitions) == 3


def test_create_topic_errors_are_kafka_errors(bootstrap, topic_name):
    from confluent_kafka.admin import NewTopic

    create_topic(bootstrap, topic_name)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    with pytest.raises(confluent_kafka.KafkaException) as dup:
        admin.create_topics([NewTopic(topic_name, 1, 1)])[topic_name].result(10)
    assert dup.value.args[0].code() == confluent_kafka.KafkaError.TOPIC_ALREADY_EXISTS
    with pytest.raises(confluent_kafka.KafkaException) as rf:
        admin.create_topics([NewTopic(topic_name + "x", 1, 3)])[topic_name + "x"].result(10)
    assert rf.value.args[0].code() == confluent_kafka.KafkaError.INVALID_REPLICATION_FACTOR
    with pytest.raises(confluent_kafka.KafkaException) as cfg:
        bad = NewTopic(topic_name + "y", 1, 1, config={"cleanup.policy": "bogus"})
        admin.create_topics([bad])[topic_name + "y"].result(10)
    assert cfg.value.args[0].code() == confluent_kafka.KafkaError.INVALID_CONFIG
