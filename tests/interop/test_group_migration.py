"""Online migration between classic and consumer groups (KIP-848, issue 14 item 3),
with confluent-kafka's classic and KIP-848 consumers and kafka-python's classic
consumer, as Kafka 4.x converts groups under
``group.consumer.migration.policy=bidirectional``; the same scenario runs against
Apache Kafka itself where the reference broker is available."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupType, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer

from streamtest import EmbeddedKafka

pytestmark = pytest.mark.interop

PARTITIONS = 6


def _topic(bootstrap: str) -> str:
    name = f"mig-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, PARTITIONS, 1)])[name].result(15)
    return name


def _classic(bootstrap: str, group: str, strategy: str = "cooperative-sticky") -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.protocol": "classic",
            "partition.assignment.strategy": strategy,
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 300,
            "auto.offset.reset": "earliest",
        }
    )


def _kip848(bootstrap: str, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.protocol": "consumer",
            "auto.offset.reset": "earliest",
        }
    )


def _group_type(bootstrap: str, group: str) -> ConsumerGroupType:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.describe_consumer_groups([group])[group].result(15).type


def _poll_until(
    consumers: list[Any], done: Callable[[], bool], timeout: float = 60.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        for c in consumers:
            if isinstance(c, KafkaConsumer):
                c.poll(timeout_ms=100)
            else:
                msg = c.poll(0.1)
                if msg is not None and msg.error() and msg.error().fatal():
                    raise KafkaException(msg.error())


def _sizes(consumers: list[Any]) -> list[int]:
    return [len(c.assignment()) for c in consumers]


def _split_evenly(consumers: list[Any]) -> Callable[[], bool]:
    want = PARTITIONS // len(consumers)

    def check() -> bool:
        parts = [c.assignment() for c in consumers]
        return all(len(p) == want for p in parts) and len(set().union(*parts)) == PARTITIONS

    return check


def _migrate_and_back(bootstrap: str, strategy: str) -> list[ConsumerGroupType]:
    """Classic group -> a KIP-848 member joins (upgrade) -> the classic member leaves
    -> a classic member joins the consumer group -> the KIP-848 member leaves
    (downgrade). Return the group type after each step; every step also checks
    that the members share the partitions."""
    topic = _topic(bootstrap)
    group = f"mig-{uuid.uuid4().hex[:8]}"
    seen = []
    first = _classic(bootstrap, group, strategy)
    first.subscribe([topic])
    _poll_until([first], _split_evenly([first]), what="the classic member's assignment")
    seen.append(_group_type(bootstrap, group))

    modern = _kip848(bootstrap, group)
    modern.subscribe([topic])
    both = [first, modern]
    _poll_until(both, _split_evenly(both), what=f"an even split, have {_sizes(both)}")
    seen.append(_group_type(bootstrap, group))

    first.close()
    _poll_until([modern], _split_evenly([modern]), what="the KIP-848 member taking all")
    seen.append(_group_type(bootstrap, group))

    second = _classic(bootstrap, group, strategy)
    second.subscribe([topic])
    both = [modern, second]
    _poll_until(both, _split_evenly(both), what=f"an even split, have {_sizes(both)}")
    seen.append(_group_type(bootstrap, group))

    modern.close()
    _poll_until([second], _split_evenly([second]), what="the classic member taking all")
    seen.append(_group_type(bootstrap, group))
    second.close()
    return seen


EXPECTED = [
    ConsumerGroupType.CLASSIC,
    ConsumerGroupType.CONSUMER,
    ConsumerGroupType.CONSUMER,
    ConsumerGroupType.CONSUMER,
    ConsumerGroupType.CLASSIC,
]


@pytest.mark.parametrize("strategy", ["cooperative-sticky", "range"])
def test_groups_migrate_both_ways_confluent_kafka(bootstrap, strategy):
    assert _migrate_and_back(bootstrap, strategy) == EXPECTED


@pytest.mark.slow
def test_groups_migrate_both_ways_as_on_apache_kafka(reference_kafka):
    assert _migrate_and_back(reference_kafka.bootstrap_servers, "cooperative-sticky") == EXPECTED


def test_kafka_python_classic_member_joins_a_consumer_group(bootstrap):
    topic = _topic(bootstrap)
    group = f"mig-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(60):
        producer.produce(topic, value=str(i).encode(), partition=i % PARTITIONS)
    assert producer.flush(15) == 0
    modern = _kip848(bootstrap, group)
    modern.subscribe([topic])
    _poll_until([modern], _split_evenly([modern]), what="the KIP-848 member's assignment")
    legacy = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10000,
        heartbeat_interval_ms=300,
    )
    try:
        both = [modern, legacy]
        _poll_until(both, _split_evenly(both), what=f"an even split, have {_sizes(both)}")
        assert _group_type(bootstrap, group) == ConsumerGroupType.CONSUMER
        admin = AdminClient({"bootstrap.servers": bootstrap})
        described = admin.describe_consumer_groups([group])[group].result(15)
        assert len(described.members) == 2
    finally:
        legacy.close()
        modern.close()


@pytest.fixture
def no_migration() -> Iterator[str]:
    with EmbeddedKafka(settings={"group.consumer.migration.policy": "disabled"}) as kafka:
        yield kafka.bootstrap_servers


def test_a_live_classic_group_stays_classic_when_migration_is_disabled(no_migration):
    bootstrap = no_migration
    topic = _topic(bootstrap)
    group = f"mig-{uuid.uuid4().hex[:8]}"
    first = _classic(bootstrap, group)
    first.subscribe([topic])
    _poll_until([first], _split_evenly([first]), what="the classic member's assignment")
    modern = _kip848(bootstrap, group)
    modern.subscribe([topic])
    error: KafkaError | None = None
    deadline = time.monotonic() + 30
    while error is None and time.monotonic() < deadline:
        first.poll(0.1)
        msg = modern.poll(0.1)
        if msg is not None and msg.error():
            error = msg.error()
    try:
        # librdkafka treats GROUP_ID_NOT_FOUND from ConsumerGroupHeartbeat as fatal.
        assert error is not None and error.code() == KafkaError._FATAL
        assert "group id does not exist" in error.str().lower()
        assert _group_type(bootstrap, group) == ConsumerGroupType.CLASSIC
    finally:
        first.close()
        modern.close()
