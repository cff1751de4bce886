"""Coordinators live on the leader of their internal-topic partition; when that node
stops, clients find the new coordinator and keep their groups, committed offsets
and open transactions. Also failover with kafka-python and aiokafka."""

from __future__ import annotations

import asyncio
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from streamtest import EmbeddedKafka, eventually
from streamtest.broker.cluster import java_string_hash


def _coordinator(kafka: EmbeddedKafka, internal: str, key: str) -> int:
    rows = kafka.cluster_status()["topics"][internal]
    return rows[java_string_hash(key) % len(rows)]["leader"]


def _poll(consumer: Consumer, want: int, timeout: float = 30) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg.value())
    return got


@pytest.fixture
def cluster():
    with EmbeddedKafka(brokers=3) as kafka:
        yield kafka


def test_a_kip848_group_survives_its_coordinator_stopping(cluster):
    cluster.create_topic("k848", 2, replication_factor=3)
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "acks": "all"})
    for i in range(4):
        producer.produce("k848", b"a%d" % i, partition=i % 2)
    producer.flush(10)
    consumer = Consumer({
        "bootstrap.servers": cluster.bootstrap_servers, "group.id": "k848-group",
        "group.protocol": "consumer", "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe(["k848"])
    try:
        assert sorted(_poll(consumer, 4)) == [b"a0", b"a1", b"a2", b"a3"]
        consumer.commit(asynchronous=False)
        coordinator = _coordinator(cluster, "__consumer_offsets", "k848-group")
        cluster.stop_node(coordinator)
        assert _coordinator(cluster, "__consumer_offsets", "k848-group") != coordinator
        for i in range(4, 6):
            producer.produce("k848", b"a%d" % i, partition=i % 2)
        producer.flush(10)
        assert sorted(_poll(consumer, 2)) == [b"a4", b"a5"]
        consumer.commit(asynchronous=False)
        committed = consumer.committed(
            [TopicPartition("k848", 0), TopicPartition("k848", 1)], timeout=10
        )
        assert sorted(tp.offset for tp in committed) == [3, 3]
        assert consumer.assignment(), "still a member after the move"
    finally:
        consumer.close()


def test_an_open_transaction_commits_after_its_coordinator_stops(cluster):
    cluster.create_topic("txn-out", 1, replication_factor=3)
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers,
                         "transactional.id": "mover-txn"})
    producer.init_transactions(15)
    producer.begin_transaction()
    producer.produce("txn-out", b"inside")
    producer.flush(10)
    coordinator = _coordinator(cluster, "__transaction_state", "mover-txn")
    cluster.stop_node(coordinator)
    producer.commit_transaction(30)
    assert [r.value for r in cluster.records("txn-out", read_committed=True)] == [b"inside"]
    # The next transaction goes through the new coordinator as well.
    producer.begin_transaction()
    producer.produce("txn-out", b"second")
    producer.commit_transaction(30)
    values = [r.value for r in cluster.records("txn-out", read_committed=True)]
    assert values == [b"inside", b"second"]


def test_kafka_python_producer_fails_over(cluster):
    from kafka import KafkaProducer

    cluster.create_topic("kp", 1, replication_factor=3)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all",
                             retries=10, retry_backoff_ms=50, request_timeout_ms=5000)
    try:
        producer.send("kp", b"before").get(timeout=10)
        cluster.stop_node(cluster.leader("kp", 0))
        producer.send("kp", b"after").get(timeout=30)
    finally:
        producer.close(5)
    assert [r.value for r in cluster.records("kp")] == [b"before", b"after"]


def test_aiokafka_producer_fails_over(cluster):
    from aiokafka import AIOKafkaProducer

    cluster.create_topic("aio", 1, replication_factor=3)

    async def main() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all",
                                    retry_backoff_ms=50, request_timeout_ms=5000)
        await producer.start()
        try:
            await producer.send_and_wait("aio", b"before")
            cluster.stop_node(cluster.leader("aio", 0))
            await asyncio.wait_for(producer.send_and_wait("aio", b"after"), 30)
        finally:
            await producer.stop()

    asyncio.run(main())
    assert [r.value for r in cluster.records("aio")] == [b"before", b"after"]


def test_classic_group_members_find_the_new_coordinator(cluster):
    cluster.create_topic("classic", 1, replication_factor=3)
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap_servers,
                         "group.id": "classic-mover", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe(["classic"])
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "acks": "all"})
    producer.produce("classic", b"one")
    producer.flush(10)
    try:
        assert _poll(consumer, 1) == [b"one"]
        consumer.commit(asynchronous=False)
        cluster.stop_node(_coordinator(cluster, "__consumer_offsets", "classic-mover"))
        producer.produce("classic", b"two")
        producer.flush(10)
        assert _poll(consumer, 1) == [b"two"]
        consumer.commit(asynchronous=False)
        eventually(
            lambda: consumer.committed([TopicPartition("classic", 0)], timeout=5)[0].offset == 2,
            timeout=20,
        )
    finally:
        consumer.close()
