"""Consumer groups with confluent-kafka (librdkafka) against the embedded broker:
sharing and takeover, commits and restarts, cooperative-sticky, static membership,
the KIP-848 consumer, AdminClient group operations and a member killed by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import confluent_kafka
import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from streamtest.kit.compat import librdkafka_version
from streamtest.kit.wait import eventually

from .groupclients import Pump, consumer, group_id, partitions_of, produce

pytestmark = pytest.mark.interop


def _group(broker, gid):
    return broker.call(lambda b: b.groups.group(gid))


def _committed(broker, gid):
    return broker.call(lambda b: b.groups.committed(gid))


def test_librdkafka_version_supports_kip848():
    assert librdkafka_version(confluent_kafka.libversion()) >= (2, 12, 0)


def test_three_consumers_share_six_partitions_and_two_take_over_when_one_leaves(
    broker, bootstrap, topic_name
):
    broker.create_topic(topic_name, partitions=6)
    gid = group_id()
    members = [consumer(bootstrap, gid) for _ in range(3)]
    try:
        for c in members:
            c.subscribe([topic_name])
        pump = Pump(members)
        pump.until(lambda: [len(partitions_of(c)) for c in members] == [2, 2, 2])
        assert set().union(*(partitions_of(c) for c in members)) == set(range(6))
        first = produce(bootstrap, topic_name, 6, 60)
        pump.until(lambda: len(pump.values()) >= 60)
        for c in members:  # each read only its own two partitions
            assert {p for p, _ in pump.received[id(c)]} <= partitions_of(c)
        leaving = members.pop()
        leaving.close()
        pump.consumers = members
        pump.until(lambda: [len(partitions_of(c)) for c in members] == [3, 3])
        second = produce(bootstrap, topic_name, 6, 60, start=60)
        pump.until(lambda: len(pump.values()) >= 120)
        pump.step()  # anything delivered twice would show up now
        got = pump.values()
        assert sorted(got) == sorted(first | second), "nothing lost, nothing twice"
        assert sum(_committed(broker, gid).values()) == 120
    finally:
        for c in members:
            c.close()


def test_restart_resumes_after_the_committed_offset(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=1)
    values = [f"v{i}" for i in range(25)]
    produce(bootstrap, topic_name, 1, 25)
    gid = group_id()
    c = consumer(bootstrap, gid)
    c.subscribe([topic_name])
    got: list[str] = []

    def ten() -> bool:
        for m in c.consume(num_messages=10 - len(got), timeout=0.2):
            assert not m.error(), m.error()
            got.append(m.value().decode())
        return len(got) == 10

    eventually(ten, timeout=30, interval=0)
    c.commit(asynchronous=False)
    c.close()
    assert got == values[:10]
    assert _committed(broker, gid) == {(topic_name, 0): 10}
    again = consumer(bootstrap, gid)
    again.subscribe([topic_name])
    pump = Pump([again])
    try:
        pump.until(lambda: len(pump.values()) >= 15)
        pump.step()
        assert pump.values() == values[10:]
    finally:
        again.close()


def test_cooperative_sticky_moves_only_the_partitions_it_must(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=4)
    gid = group_id()
    revoked: list[set[int]] = []
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    first = consumer(bootstrap, gid, **conf)
    first.subscribe([topic_name], on_revoke=lambda c, ps: revoked.append(
        {p.partition for p in ps}))
    second = consumer(bootstrap, gid, **conf)
    pump = Pump([first, second])
    try:
        pump.until(lambda: len(partitions_of(first)) == 4)
        produce(bootstrap, topic_name, 4, 40)
        pump.until(lambda: len(pump.values()) >= 40)
        second.subscribe([topic_name])
        pump.until(lambda: [len(partitions_of(c)) for c in (first, second)] == [2, 2])
        assert _group(broker, gid).protocol_name == "cooperative-sticky"
        moved = set().union(*revoked)
        assert moved == partitions_of(second), "only the partitions that moved were revoked"
        produce(bootstrap, topic_name, 4, 40, start=40)
        pump.until(lambda: len(pump.values()) >= 80)
        pump.step()
        assert len(pump.values()) == len(set(pump.values())) == 80
    finally:
        first.close()
        second.close()


def test_static_member_restarts_without_a_rebalance(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=4)
    gid = group_id()
    conf = {"group.instance.id": "static-1", "session.timeout.ms": 30000}
    static = consumer(bootstrap, gid, **conf)
    other = consumer(bootstrap, gid)
    static.subscribe([topic_name])
    other.subscribe([topic_name])
    pump = Pump([static, other])
    restarted = None
    try:
        pump.until(lambda: [len(partitions_of(c)) for c in (static, other)] == [2, 2])
        mine = partitions_of(static)
        generation = _group(broker, gid).generation_id
        static.close()  # a static member does not send LeaveGroup (KIP-345)
        restarted = consumer(bootstrap, gid, **conf)
        restarted.subscribe([topic_name])
        pump.consumers = [restarted, other]
        pump.until(lambda: partitions_of(restarted) == mine)
        group = _group(broker, gid)
        assert group.generation_id == generation, "no rebalance"
        assert group.state == "Stable"
        assert partitions_of(other) == set(range(4)) - mine
    finally:
        other.close()
        if restarted is not None:
            restarted.close()


def test_kip848_consumer_protocol_shares_and_takes_over(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=4)
    gid = group_id()
    conf = {"group.protocol": "consumer"}
    a = consumer(bootstrap, gid, **conf)
    b = consumer(bootstrap, gid, **conf)
    a.subscribe([topic_name])
    b.subscribe([topic_name])
    pump = Pump([a, b])
    try:
        pump.until(lambda: [len(partitions_of(c)) for c in (a, b)] == [2, 2])
        group = _group(broker, gid)
        assert group.group_type == "consumer" and group.state == "Stable"
        produce(bootstrap, topic_name, 4, 40)
        pump.until(lambda: len(pump.values()) >= 40)
        b.close()
        pump.consumers = [a]
        pump.until(lambda: len(partitions_of(a)) == 4)
        produce(bootstrap, topic_name, 4, 40, start=40)
        pump.until(lambda: len(pump.values()) >= 80)
        pump.step()
        assert len(pump.values()) == len(set(pump.values())) == 80
        assert sum(_committed(broker, gid).values()) == 80
        admin = AdminClient({"bootstrap.servers": bootstrap})
        desc = admin.describe_consumer_groups([gid])[gid].result(10)
        assert desc.type == confluent_kafka.ConsumerGroupType.CONSUMER
        assert len(desc.members) == 1
        assert {tp.partition for tp in desc.members[0].assignment.topic_partitions} == set(
            range(4))
    finally:
        a.close()


def test_admin_lists_describes_alters_and_deletes_groups(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=2)
    produce(bootstrap, topic_name, 2, 10)
    gid = group_id()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    c = consumer(bootstrap, gid)
    c.subscribe([topic_name])
    pump = Pump([c])
    pump.until(lambda: len(pump.values()) >= 10)
    try:
        listed = admin.list_consumer_groups(
            states={confluent_kafka.ConsumerGroupState.STABLE}).result(10)
        assert gid in {g.group_id for g in listed.valid}
        desc = admin.describe_consumer_groups([gid])[gid].result(10)
        assert desc.state == confluent_kafka.ConsumerGroupState.STABLE
        assert desc.partition_assignor == "range"
        assert {tp.partition for tp in desc.members[0].assignment.topic_partitions} == {0, 1}
        request = [ConsumerGroupTopicPartitions(gid, [TopicPartition(topic_name, 0),
                                                      TopicPartition(topic_name, 1)])]
        offsets = admin.list_consumer_group_offsets(request)[gid].result(10)
        assert sorted(tp.offset for tp in offsets.topic_partitions) == [5, 5]
        deleting_live = admin.delete_consumer_groups([gid])[gid]
        with pytest.raises(confluent_kafka.KafkaException, match="NON_EMPTY_GROUP"):
            deleting_live.result(10)
    finally:
        c.close()
    eventually(lambda: _group(broker, gid).state == "Empty", timeout=10)
    alter = [ConsumerGroupTopicPartitions(gid, [TopicPartition(topic_name, 0, 1)])]
    admin.alter_consumer_group_offsets(alter)[gid].result(10)
    assert _committed(broker, gid) == {(topic_name, 0): 1, (topic_name, 1): 5}
    empty = admin.list_consumer_groups(
        states={confluent_kafka.ConsumerGroupState.EMPTY}).result(10)
    assert gid in {g.group_id for g in empty.valid}
    admin.delete_consumer_groups([gid])[gid].result(10)
    assert _group(broker, gid) is None
    assert _committed(broker, gid) == {}


_KILLED_MEMBER = textwrap.dedent("""
    import sys, time
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                  "auto.offset.reset": "earliest"})
    c.subscribe([sys.argv[3]])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        c.poll(0.1)
        if c.assignment():
            print("assigned", flush=True)
""")


def test_member_killed_by_sigkill_is_evicted_after_its_session_timeout(
    broker, bootstrap, topic_name
):
    broker.create_topic(topic_name, partitions=4)
    gid = group_id()
    survivor = consumer(bootstrap, gid)
    survivor.subscribe([topic_name])
    pump = Pump([survivor], commit=False)
    pump.until(lambda: len(partitions_of(survivor)) == 4)
    victim = subprocess.Popen(
        [sys.executable, "-c", _KILLED_MEMBER, bootstrap, gid, topic_name],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        pump.until(lambda: len(partitions_of(survivor)) == 2)
        assert len(_group(broker, gid).members) == 2
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        pump.until(lambda: len(_group(broker, gid).members) == 1, timeout=20)
        pump.until(lambda: len(partitions_of(survivor)) == 4, timeout=20)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait(10)
        if victim.stdout is not None:
            victim.stdout.close()
        survivor.close()
