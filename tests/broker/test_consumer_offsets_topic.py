"""Committed offsets and group metadata live in ``__consumer_offsets``, in Kafka's
schemas: kcat reads the topic, Apache Kafka's own ``OffsetsMessageFormatter``
decodes it, and the coordinator rebuilds itself from it after a restart."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from streamtest import EmbeddedKafka


def _commit(kafka: EmbeddedKafka, group: str, topic: str, offsets: dict[int, int]) -> None:
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": group})
    consumer.commit(
        offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False
    )
    consumer.close()


def test_offsets_topic_is_internal_and_holds_the_commits():
    with EmbeddedKafka() as kafka:
        kafka.create_topic("orders", 2)
        _commit(kafka, "billing", "orders", {0: 5, 1: 7})
        meta = AdminClient({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(timeout=10)
        assert "__consumer_offsets" in meta.topics
        assert len(meta.topics["__consumer_offsets"].partitions) == 50
        records = kafka.records("__consumer_offsets")
        assert len(records) >= 2
        assert all(r.key and r.key[:2] in (b"\x00\x01", b"\x00\x02") for r in records)


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed")
def test_kcat_reads_the_offsets_topic():
    with EmbeddedKafka() as kafka:
        kafka.create_topic("orders", 1)
        _commit(kafka, "kcat-group", "orders", {0: 42})
        out = subprocess.run(
            ["kcat", "-C", "-b", kafka.bootstrap_servers, "-t", "__consumer_offsets", "-e",
             "-q", "-f", "%k\n"],
            capture_output=True, timeout=60, check=True,
        ).stdout
        # OffsetCommitKey v1: int16 type 1, then the group, topic and partition.
        assert b"\x00\x01\x00\x0akcat-group\x00\x06orders\x00\x00\x00\x00" in out


def test_offsets_and_groups_come_back_from_the_topic_after_a_restart(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        kafka.create_topic("orders", 2)
        _commit(kafka, "survivor", "orders", {0: 3, 1: 9})
        _commit(kafka, "gone", "orders", {0: 1})
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
        admin.delete_consumer_groups(["gone"])["gone"].result(10)
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers,
                             "group.id": "survivor"})
        committed = consumer.committed(
            [TopicPartition("orders", 0), TopicPartition("orders", 1)], timeout=10
        )
        consumer.close()
        assert [tp.offset for tp in committed] == [3, 9]
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
        groups = {g.group_id for g in admin.list_consumer_groups().result(10).valid}
        assert "survivor" in groups and "gone" not in groups


@pytest.mark.slow
def test_kafkas_offsets_formatter_decodes_the_topic(tmp_path):
    from streamtest.kit.reference_kafka import (
        ReferenceKafkaError,
        classpath_arg,
        java_executable,
        kafka_tools_classpath,
    )

    try:
        java = java_executable()
        jars = kafka_tools_classpath()
    except ReferenceKafkaError as exc:
        pytest.skip(str(exc).splitlines()[0])
    with EmbeddedKafka() as kafka:
        kafka.create_topic("orders", 1)
        consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": "fmt",
                             "auto.offset.reset": "earliest"})
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
        producer.produce("orders", b"x")
        producer.flush(10)
        consumer.subscribe(["orders"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                break
        consumer.commit(asynchronous=False)
        consumer.close()
        proc = subprocess.run(
            [java, "-cp", classpath_arg(jars), "org.apache.kafka.tools.consumer.ConsoleConsumer",
             "--bootstrap-server", kafka.bootstrap_servers, "--topic", "__consumer_offsets",
             "--from-beginning", "--timeout-ms", "8000", "--formatter",
             "org.apache.kafka.tools.consumer.OffsetsMessageFormatter"],
            capture_output=True, text=True, timeout=120,
        )
    out = proc.stdout
    assert '"group":"fmt"' in out and '"topic":"orders"' in out, proc.stderr[-2000:]
    assert '"offset":1' in out
