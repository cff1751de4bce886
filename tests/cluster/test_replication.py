"""Replication on a multi-node embedded cluster, with real clients: acks=all and
min.insync.replicas, ISR shrink and rejoin, leader failover under load, truncation
after an unclean election, and the control operations in both modes."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from streamtest import EmbeddedKafka, eventually


def _producer(kafka: EmbeddedKafka, **extra) -> Producer:
    return Producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 0, **extra})


def _produce(producer: Producer, topic: str, values: list[bytes], partition: int = 0) -> list:
    errors: list = []
    for v in values:
        producer.produce(topic, v, partition=partition,
                         on_delivery=lambda err, msg: errors.append(err))
    producer.flush(30)
    return errors


def _metadata(kafka: EmbeddedKafka, topic: str):
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    return admin.list_topics(topic, timeout=10).topics[topic].partitions


@pytest.fixture(params=["thread", "process"])
def cluster(request):
    settings = {"replica.lag.time.max.ms": 2000}
    with EmbeddedKafka(brokers=3, mode=request.param, settings=settings) as kafka:
        yield kafka


def test_replicas_isr_and_leaders_are_reported_as_kafka_does(cluster):
    cluster.create_topic("r", 3, replication_factor=3)
    parts = _metadata(cluster, "r")
    for p in parts.values():
        assert sorted(p.replicas) == [0, 1, 2] and sorted(p.isrs) == [0, 1, 2]
        assert p.leader == p.replicas[0] == cluster.leader("r", p.id)
    assert {p.leader for p in parts.values()} == {0, 1, 2}  # spread over the nodes
    with pytest.raises(ValueError, match="replication factor of 4"):
        cluster.create_topic("too-many", 1, replication_factor=4)


def test_acks_all_needs_min_insync_replicas(cluster):
    cluster.create_topic("mir", 1, {"min.insync.replicas": "2"}, replication_factor=3)
    producer = _producer(cluster, acks="all", **{"message.timeout.ms": 3000,
                                                 "retry.backoff.ms": 50})
    assert _produce(producer, "mir", [b"all-in-sync"]) == [None]
    leader = cluster.leader("mir", 0)
    followers = [n for n in cluster.node_ids if n != leader]
    cluster.stop_node(followers[0])
    assert _produce(producer, "mir", [b"one-follower-left"]) == [None]  # ISR 2 >= 2
    cluster.stop_node(followers[1])
    errors = _produce(producer, "mir", [b"refused"])
    assert errors[0] is not None
    assert errors[0].code() in (KafkaError.NOT_ENOUGH_REPLICAS, KafkaError._MSG_TIMED_OUT)
    assert [r.value for r in cluster.records("mir")] == [b"all-in-sync", b"one-follower-left"]
    # acks=1 does not care about min.insync.replicas.
    one = _producer(cluster, acks=1)
    assert _produce(one, "mir", [b"acks-1"]) == [None]
    cluster.start_node(followers[0])
    cluster.start_node(followers[1])
    assert sorted(_metadata(cluster, "mir")[0].isrs) == [0, 1, 2]


def test_a_stopped_node_misses_data_and_catches_up_when_it_returns(cluster):
    cluster.create_topic("cu", 1, replication_factor=3)
    leader = cluster.leader("cu", 0)
    follower = next(n for n in cluster.node_ids if n != leader)
    cluster.stop_node(follower)
    assert sorted(_metadata(cluster, "cu")[0].isrs) == sorted(
        n for n in cluster.node_ids if n != follower
    )
    producer = _producer(cluster, acks="all")
    assert _produce(producer, "cu", [b"%d" % i for i in range(20)]) == [None] * 20
    cluster.start_node(follower)
    eventually(lambda: sorted(_metadata(cluster, "cu")[0].isrs) == [0, 1, 2], timeout=10)
    # The returning replica has every record: it can lead and serve them all.
    cluster.move_leader("cu", 0, follower)
    assert cluster.leader("cu", 0) == follower
    assert [r.value for r in cluster.records("cu")] == [b"%d" % i for i in range(20)]


def test_an_isolated_follower_leaves_the_isr_after_the_lag_time_and_rejoins():
    with EmbeddedKafka(brokers=3, clock="manual",
                       settings={"replica.lag.time.max.ms": 10_000}) as kafka:
        kafka.create_topic("iso", 1, replication_factor=3)
        leader = kafka.leader("iso", 0)
        follower = next(n for n in kafka.node_ids if n != leader)
        kafka.isolate_node(follower)
        kafka.advance(6)
        assert follower in _isr(kafka, "iso")
        kafka.advance(5)  # the next ISR check is past replica.lag.time.max.ms
        assert follower not in _isr(kafka, "iso")
        kafka.reconnect_node(follower)
        assert follower in _isr(kafka, "iso")


def test_an_isolated_leader_loses_leadership_after_the_lag_time():
    with EmbeddedKafka(brokers=3, clock="manual",
                       settings={"replica.lag.time.max.ms": 10_000}) as kafka:
        kafka.create_topic("iso-leader", 1, replication_factor=3)
        leader = kafka.leader("iso-leader", 0)
        kafka.isolate_node(leader)
        kafka.advance(5)
        assert kafka.leader("iso-leader", 0) == leader
        kafka.advance(6)
        assert kafka.leader("iso-leader", 0) != leader
        assert leader not in _isr(kafka, "iso-leader")


def _isr(kafka: EmbeddedKafka, topic: str, partition: int = 0) -> list[int]:
    status = kafka.cluster_status()
    return status["topics"][topic][partition]["isr"]


def test_follower_truncates_after_an_unclean_election(cluster):
    cluster.create_topic("unclean", 1, {"unclean.leader.election.enable": "true"},
                         replication_factor=2)
    leader = cluster.leader("unclean", 0)
    status = cluster.cluster_status()["topics"]["unclean"][0]
    follower = next(r for r in status["replicas"] if r != leader)
    producer = _producer(cluster, acks="all")
    assert _produce(producer, "unclean", [b"committed"]) == [None]
    cluster.stop_node(follower)  # out of the ISR
    assert _produce(producer, "unclean", [b"only-on-old-leader"]) == [None]
    cluster.stop_node(leader)  # the last in-sync replica dies
    cluster.start_node(follower)  # out of sync, but unclean election is allowed
    eventually(lambda: cluster.leader("unclean", 0) == follower, timeout=10)
    assert _produce(_producer(cluster, acks=1), "unclean", [b"new-era"]) == [None]
    cluster.start_node(leader)  # comes back as a follower and truncates
    eventually(lambda: sorted(_isr(cluster, "unclean")) == sorted([leader, follower]),
               timeout=10)
    cluster.move_leader("unclean", 0, leader)
    values = [r.value for r in cluster.records("unclean")]
    assert values == [b"committed", b"new-era"]  # the acks=1 record of the old era is gone


def test_leader_failover_under_load_loses_nothing_acknowledged(cluster):
    cluster.create_topic("load", 3, {"min.insync.replicas": "2"}, replication_factor=3)
    producer = _producer(cluster, acks="all", **{"enable.idempotence": True,
                                                 "retry.backoff.ms": 20,
                                                 "linger.ms": 5})
    acked: list[bytes] = []
    failed: list = []
    stop = threading.Event()

    def on_delivery(err, msg):
        (failed if err else acked).append(err or msg.value())

    def load():
        i = 0
        while not stop.is_set():
            try:
                producer.produce("load", b"%06d" % i, on_delivery=on_delivery)
            except BufferError:
                producer.poll(0.05)  # the local queue is full: serve delivery reports
                continue
            producer.poll(0)
            i += 1
        producer.flush(30)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        for round_ in range(4):
            eventually(lambda n=round_: len(acked) > (n + 1) * 300, timeout=20)
            victim = cluster.leader("load", round_ % 3)
            cluster.stop_node(victim)
            eventually(lambda n=round_: len(acked) > (n + 1) * 300 + 200, timeout=20)
            cluster.start_node(victim)
    finally:
        stop.set()
        thread.join(60)
    assert failed == []
    stored = [r.value for r in cluster.records("load")]
    assert len(stored) == len(set(stored)), "idempotence: no duplicates"
    assert set(acked) <= set(stored), "no acknowledged record lost"


def test_a_consumer_group_and_its_offsets_survive_a_coordinator_move(cluster):
    cluster.create_topic("cg", 2, replication_factor=3)
    producer = _producer(cluster, acks="all")
    assert _produce(producer, "cg", [b"a", b"b"], partition=0) == [None, None]
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": "movers",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(["cg"])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 2 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg.value())
    consumer.commit(asynchronous=False)
    status = cluster.cluster_status()
    offsets_partition = _group_partition("movers", len(status["topics"]["__consumer_offsets"]))
    coordinator = status["topics"]["__consumer_offsets"][offsets_partition]["leader"]
    cluster.stop_node(coordinator)
    assert _produce(producer, "cg", [b"c"], partition=0) == [None]
    while len(got) < 3 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg.value())
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition("cg", 0)], timeout=10)
    consumer.close()
    assert got == [b"a", b"b", b"c"]
    assert committed[0].offset == 3


def _group_partition(group: str, partitions: int) -> int:
    from streamtest.broker.cluster import java_string_hash

    return java_string_hash(group) % partitions


def test_control_errors_are_clear(cluster):
    cluster.create_topic("ctl", 1, replication_factor=1)
    with pytest.raises(ValueError, match="no node 9"):
        cluster.stop_node(9)
    with pytest.raises(ValueError, match="not a replica"):
        cluster.move_leader("ctl", 0, (cluster.leader("ctl", 0) + 1) % 3)
    with pytest.raises(ValueError, match="no partition"):
        cluster.leader("nope", 0)


def test_add_and_remove_nodes(cluster):
    new = cluster.add_node()
    assert new == 3 and cluster.node_ids == [0, 1, 2, 3]
    assert len(cluster.bootstrap_servers.split(",")) == 4
    cluster.create_topic("moved", 1, replication_factor=3)
    holder = cluster.leader("moved", 0)
    producer = _producer(cluster, acks="all")
    assert _produce(producer, "moved", [b"kept"]) == [None]
    cluster.remove_node(holder)
    assert holder not in cluster.node_ids
    replicas = cluster.cluster_status()["topics"]["moved"][0]["replicas"]
    assert len(replicas) == 3 and holder not in replicas
    assert [r.value for r in cluster.records("moved")] == [b"kept"]


def test_shuffle_leaders_moves_leadership(cluster):
    cluster.create_topic("shuffle", 6, replication_factor=3)
    before = {p: cluster.leader("shuffle", p) for p in range(6)}
    assert cluster.shuffle_leaders() >= 6
    after = {p: cluster.leader("shuffle", p) for p in range(6)}
    assert all(before[p] != after[p] for p in range(6))
    producer = _producer(cluster, acks="all")
    assert _produce(producer, "shuffle", [b"x"], partition=5) == [None]


def test_a_killed_node_stays_in_metadata_until_its_session_expires():
    # KRaft fences a crashed broker only when its session expires: until then
    # clients still see it (its partitions lead elsewhere at once here). A
    # controlled shutdown drops it at once.
    from confluent_kafka.admin import AdminClient

    with EmbeddedKafka(brokers=3, clock="manual",
                       settings={"broker.session.timeout.ms": "9000"}) as kafka:
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})

        def listed() -> list[int]:
            return sorted(admin.list_topics(timeout=10).brokers)

        kafka.kill_node(2)
        kafka.stop_node(1)
        assert listed() == [0, 2]
        kafka.advance(9)
        assert listed() == [0]
        kafka.start_node(2)
        assert listed() == [0, 2]
