"""A multi-node cluster on its storage: each node's logs in its own directory,
a restart from the data dir, and what a killed node loses (only what it had not
flushed) and gets back from the leader."""

from __future__ import annotations

from confluent_kafka import Consumer, Producer, TopicPartition

from streamtest import EmbeddedKafka, eventually


def _produce_all(bootstrap: str, topic: str, count: int, prefix: str = "r") -> list[bytes]:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2})
    acked: list[bytes] = []

    def report(err: object, msg: object) -> None:
        if err is None:
            acked.append(msg.value())  # type: ignore[attr-defined]

    for i in range(count):
        producer.produce(topic, key=b"%d" % (i % 7), value=b"%s-%d" % (prefix.encode(), i),
                         on_delivery=report)
        if i % 100 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    assert len(acked) == count
    return acked


def test_a_three_node_cluster_comes_back_from_its_data_dir(tmp_path):
    with EmbeddedKafka(brokers=3, data_dir=tmp_path) as kafka:
        kafka.create_topic("replicated", partitions=3, replication_factor=3,
                           config={"min.insync.replicas": "2"})
        acked = _produce_all(kafka.bootstrap_servers, "replicated", 300)
        consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": "g"})
        consumer.commit(offsets=[TopicPartition("replicated", 1, 42)], asynchronous=False)
        consumer.close()
    # Kafka's layout, one directory per node: node-<id>/<topic>-<partition>/...
    for node in range(3):
        assert sorted(p.name for p in (tmp_path / f"node-{node}").glob("replicated-*")) == [
            "replicated-0", "replicated-1", "replicated-2"
        ]
    with EmbeddedKafka(brokers=3, data_dir=tmp_path) as kafka:
        assert sorted(r.value for r in kafka.records("replicated")) == sorted(acked)
        for partition in kafka.cluster_status()["topics"]["replicated"]:
            assert sorted(partition["isr"]) == [0, 1, 2], partition
        consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": "g"})
        (committed,) = consumer.committed([TopicPartition("replicated", 1)], timeout=10)
        consumer.close()
        assert committed.offset == 42
        more = _produce_all(kafka.bootstrap_servers, "replicated", 30, prefix="after")
        assert len(kafka.records("replicated")) == len(acked) + len(more)


def test_a_killed_follower_loses_its_unflushed_tail_and_copies_it_back():
    with EmbeddedKafka(brokers=3) as kafka:
        kafka.create_topic("follow", partitions=1, replication_factor=3,
                           config={"min.insync.replicas": "2"})
        acked = _produce_all(kafka.bootstrap_servers, "follow", 200)
        leader = kafka.leader("follow", 0)
        follower = next(n for n in kafka.node_ids if n != leader)

        def replica_end(node: int) -> int:
            return kafka.call(lambda c: c.topics.partition("follow", 0).logs[node].log_end_offset)

        def stored_bytes(node: int) -> int:
            def size(c: object) -> int:
                fs = c.nodes[node].fs  # type: ignore[attr-defined]
                return sum(fs.file_size(f"follow-0/{n}") for n in fs.listdir("follow-0")
                           if n.endswith(".log"))

            return kafka.call(size)

        assert replica_end(follower) == 200 and stored_bytes(follower) > 0
        kafka.kill_node(follower)
        # Nothing was fsynced (Kafka's default flush policy): the crash loses it all.
        assert stored_bytes(follower) == 0
        more = _produce_all(kafka.bootstrap_servers, "follow", 50, prefix="while-down")
        kafka.start_node(follower)
        eventually(lambda: replica_end(follower) == 250, timeout=30)
        # The follower's copy is the leader's, byte for byte.
        def replica_values(node: int) -> list[bytes | None]:
            def read(c: object) -> list[bytes | None]:
                from streamtest.protocol.records import iter_records

                log = c.topics.partition("follow", 0).logs[node]  # type: ignore[attr-defined]
                return [r.value for _h, b in log.iter_batches() for r in iter_records(b)]

            return kafka.call(read)

        assert replica_values(follower) == replica_values(leader)
        assert sorted(r.value for r in kafka.records("follow")) == sorted(acked + more)
