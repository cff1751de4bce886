"""Share groups (KIP-932) with confluent-kafka 2.16's ShareConsumer (librdkafka)
against the embedded broker: contention on one partition, release and redelivery,
the delivery-count limit, lock expiry on the manual clock, a multi-node cluster
with a leader move, and share-group state across a restart."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import AcknowledgeType, Message, Producer, ShareConsumer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from streamtest import EmbeddedKafka
from streamtest.kit.wait import eventually

pytestmark = pytest.mark.interop

Received = list[list[Message]]


def group_config(bootstrap: str, group: str, **configs: object) -> None:
    entries = [
        ConfigEntry(k.replace("_", "."), str(v), incremental_operation=AlterConfigOpType.SET)
        for k, v in configs.items()
    ]
    res = ConfigResource(ResourceType.GROUP, group, incremental_configs=entries)
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the future
    admin.incremental_alter_configs([res])[res].result()


def share_consumer(
    bootstrap: str, group: str, mode: str = "implicit", **conf: object
) -> ShareConsumer:
    return ShareConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "share.acknowledgement.mode": mode,
            **conf,
        }
    )


def produce(
    bootstrap: str, topic: str, n: int, *, each_alone: bool = False, prefix: str = "v"
) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0 if each_alone else 5})
    for i in range(n):
        p.produce(topic, value=f"{prefix}-{i}".encode(), partition=0)
        if each_alone:
            p.flush(10)
    assert p.flush(10) == 0


def poll_until(
    consumers: Iterable[ShareConsumer],
    done: Callable[[Received], bool],
    *,
    timeout: float = 30.0,
    ack: Callable[[ShareConsumer, Message], None] | None = None,
) -> Received:
    """Round-robin ``poll`` until ``done(received)``; ``ack`` each record if given."""
    consumers = list(consumers)
    received: Received = [[] for _ in consumers]
    deadline = time.monotonic() + timeout
    while not done(received):
        assert time.monotonic() < deadline, f"timed out: {[len(r) for r in received]}"
        for c, bucket in zip(consumers, received, strict=True):
            for m in c.poll(timeout=0.1):
                if m.error() is None:
                    bucket.append(m)
                    if ack is not None:
                        ack(c, m)
    return received


def offsets(messages: Iterable[Message]) -> set[int]:
    return {m.offset() for m in messages}


def new_group() -> str:
    return f"share-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def closing() -> Iterator[list[ShareConsumer]]:
    made: list[ShareConsumer] = []
    yield made
    for c in made:
        c.close()


def test_four_consumers_on_one_partition_receive_disjoint_records(
    broker: EmbeddedKafka, bootstrap: str, topic_name: str, closing: list[ShareConsumer]
) -> None:
    broker.create_topic(topic_name, partitions=1)
    group = new_group()
    group_config(bootstrap, group, share_auto_offset_reset="earliest")
    consumers = [
        share_consumer(bootstrap, group, "explicit", **{"max.poll.records": 10}) for _ in range(4)
    ]
    closing.extend(consumers)
    for c in consumers:
        c.subscribe([topic_name])
    # Every member is assigned the only partition (the simple assignor shares it).
    eventually(lambda: len(broker.call(lambda k: k.groups.group(group).members)) == 4)
    # One record per batch, so that a fetch (max.poll.records=10) takes at most ten
    # and the others are left for the other members (whole batches are acquired).
    produce(bootstrap, topic_name, 200, each_alone=True)

    def accept(c: ShareConsumer, m: Message) -> None:
        c.acknowledge(m, AcknowledgeType.ACCEPT)

    got = poll_until(consumers, lambda r: len(set().union(*map(offsets, r))) == 200, ack=accept)
    sets = [offsets(r) for r in got]
    assert sum(len(s) for s in sets) == len(set().union(*sets)) == 200  # no record twice
    assert sum(1 for s in sets if s) >= 2, "the partition was shared by more than one member"
    members = broker.call(lambda k: k.groups.group(group).members)
    assert all(m.assigned for m in members.values())


def test_a_released_record_is_redelivered_with_its_delivery_count(
    broker: EmbeddedKafka, bootstrap: str, topic_name: str, closing: list[ShareConsumer]
) -> None:
    broker.create_topic(topic_name, partitions=1)
    group = new_group()
    group_config(bootstrap, group, share_auto_offset_reset="earliest")
    c = share_consumer(bootstrap, group, "explicit")
    closing.append(c)
    c.subscribe([topic_name])
    produce(bootstrap, topic_name, 3)
    seen: list[tuple[int, int]] = []

    def release_first_delivery_of_1(c: ShareConsumer, m: Message) -> None:
        seen.append((m.offset(), m.delivery_count()))
        kind = (
            AcknowledgeType.RELEASE
            if (m.offset(), m.delivery_count()) == (1, 1)
            else (AcknowledgeType.ACCEPT)
        )
        c.acknowledge(m, kind)

    poll_until([c], lambda r: (1, 2) in seen, ack=release_first_delivery_of_1)
    assert sorted(seen) == [(0, 1), (1, 1), (1, 2), (2, 1)]
    c.commit_sync()
    eventually(lambda: broker.share_group_state(group)[0]["start_offset"] == 3)


def test_the_delivery_count_limit_archives_a_record_that_keeps_failing(
    broker: EmbeddedKafka, bootstrap: str, topic_name: str, closing: list[ShareConsumer]
) -> None:
    broker.create_topic(topic_name, partitions=1)
    group = new_group()
    group_config(bootstrap, group, share_auto_offset_reset="earliest", share_delivery_count_limit=3)
    c = share_consumer(bootstrap, group, "explicit")
    closing.append(c)
    c.subscribe([topic_name])
    produce(bootstrap, topic_name, 1, prefix="poison")
    deliveries: list[int] = []

    def always_release(c: ShareConsumer, m: Message) -> None:
        deliveries.append(m.delivery_count())
        c.acknowledge(m, AcknowledgeType.RELEASE)

    poll_until([c], lambda r: len(deliveries) == 3, ack=always_release)
    c.commit_sync()
    [state] = broker.share_group_state(group)
    assert deliveries == [1, 2, 3]
    assert state["start_offset"] == 1  # archived after its third delivery
    produce(bootstrap, topic_name, 1, prefix="fine")
    [later] = poll_until([c], lambda r: len(r[0]) > 0, ack=lambda c, m: c.acknowledge(m))
    assert [m.value() for m in later] == [b"fine-0"]
    assert deliveries == [1, 2, 3]


def test_an_unacknowledged_record_returns_when_its_lock_expires_on_the_manual_clock(
    topic_name: str, closing: list[ShareConsumer]
) -> None:
    with EmbeddedKafka(clock="manual") as kafka:
        bootstrap = kafka.bootstrap_servers
        kafka.create_topic(topic_name)
        group = new_group()
        group_config(bootstrap, group, share_auto_offset_reset="earliest")
        a = share_consumer(bootstrap, group, "explicit")
        b = share_consumer(bootstrap, group, "explicit")
        try:
            a.subscribe([topic_name])
            produce(bootstrap, topic_name, 5)
            [held] = poll_until([a], lambda r: len(r[0]) == 5)
            b.subscribe([topic_name])
            # Half the lock later, b still gets nothing: the records are a's.
            kafka.advance(15)
            assert poll_until([b], lambda r: True, timeout=1.0) == [[]]
            for _ in range(10):
                assert [m for m in b.poll(timeout=0.1) if m.error() is None] == []
            kafka.advance(15)  # the 30 s lock runs out
            [again] = poll_until([b], lambda r: len(r[0]) == 5, ack=lambda c, m: c.acknowledge(m))
            assert offsets(again) == offsets(held)
            assert {m.delivery_count() for m in again} == {2}
            b.commit_sync()
        finally:
            b.close()
            a.close()


def test_share_consumers_follow_a_partition_leader_across_nodes(
    topic_name: str, closing: list[ShareConsumer]
) -> None:
    with EmbeddedKafka(brokers=3) as kafka:
        bootstrap = kafka.bootstrap_servers
        kafka.create_topic(topic_name, partitions=1, replication_factor=3)
        group = new_group()
        group_config(bootstrap, group, share_auto_offset_reset="earliest")
        c = share_consumer(
            bootstrap, group, "implicit", **{"topic.metadata.refresh.interval.ms": 200}
        )
        try:
            c.subscribe([topic_name])
            produce(bootstrap, topic_name, 50)
            [first] = poll_until([c], lambda r: len(offsets(r[0])) == 50)
            c.commit_sync()
            leader = kafka.leader(topic_name, 0)
            kafka.move_leader(topic_name, 0, (leader + 1) % 3)
            produce(bootstrap, topic_name, 50, prefix="after")
            [second] = poll_until([c], lambda r: len(offsets(r[0])) == 50)
            assert offsets(second) == set(range(50, 100))
            c.commit_sync()
            [state] = kafka.share_group_state(group)
            assert state["start_offset"] == 100
        finally:
            c.close()


def test_a_share_groups_progress_survives_a_broker_restart(tmp_path: Path, topic_name: str) -> None:
    group = new_group()
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        bootstrap = kafka.bootstrap_servers
        kafka.create_topic(topic_name)
        group_config(bootstrap, group, share_auto_offset_reset="earliest")
        produce(bootstrap, topic_name, 10)
        c = share_consumer(bootstrap, group, "explicit", **{"max.poll.records": 4})
        c.subscribe([topic_name])

        def accept_first_six(c: ShareConsumer, m: Message) -> None:
            c.acknowledge(m, AcknowledgeType.ACCEPT if m.offset() < 6 else AcknowledgeType.RELEASE)

        poll_until([c], lambda r: offsets(r[0]) >= set(range(6)), ack=accept_first_six)
        c.commit_sync()
        c.close()
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        [state] = kafka.share_group_state(group)
        assert state["start_offset"] == 6
        c = share_consumer(kafka.bootstrap_servers, group, "explicit")
        try:
            c.subscribe([topic_name])
            [rest] = poll_until(
                [c], lambda r: offsets(r[0]) >= set(range(6, 10)), ack=lambda c, m: c.acknowledge(m)
            )
            assert offsets(rest) == set(range(6, 10))
        finally:
            c.close()
