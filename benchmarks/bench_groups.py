"""Consumer group benchmarks (issue 3), each against librdkafka's mock cluster
measured in the same run.

* subscribe -> first record: a new confluent-kafka consumer in a new group
  subscribes to a topic holding one record per partition; time until ``poll``
  returns the first
  (FindCoordinator, JoinGroup x2, SyncGroup, OffsetFetch, Fetch). Goal: < 300 ms.
* the same with the KIP-848 protocol (``group.protocol=consumer``).
* 3-member group Stable: three consumers subscribe to a 4-partition topic at
  once; time until all partitions are assigned and every member holds some.

librdkafka's mock cluster does not implement CreateTopics; it auto-creates
topics with 4 partitions on first use. Topics are auto-created the same way on
both sides (the embedded broker is started with 4 partitions per auto-created
topic), so both sides serve identical topics.

Each row also has an Apache Kafka column (issue 12): the same measurement on the
reference broker, started with 4 partitions per auto-created topic; the issue's
target is a lower group join time than Kafka's.

Run: ``python benchmarks/bench_groups.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from _common import (  # type: ignore[import-not-found]
    Row,
    median_ms,
    mock_cluster,
    print_table,
    reference_kafka,
    verdict,
)
from confluent_kafka import Consumer, Producer

from streamtest import EmbeddedKafka

GROUP_CONF = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
              "auto.offset.reset": "earliest", "enable.auto.commit": False, "log_level": 0}
DEADLINE_S = 30.0


def _topic(bootstrap: str) -> tuple[str, int]:
    """Auto-create a topic by producing, then put one record in every partition;
    return it and its partition count.

    A record in every partition matters: librdkafka sends its first Fetch as soon
    as the first partition's offset is known, and if that partition were empty
    the Fetch would wait ``fetch.wait.max.ms`` (500 ms) on either broker.
    """
    name = f"bench-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0})
    producer.produce(name, b"x", partition=0)
    if producer.flush(10) != 0:
        raise RuntimeError(f"could not produce to {name}")
    partitions = len(producer.list_topics(name, timeout=10).topics[name].partitions)
    for p in range(1, partitions):
        producer.produce(name, b"x", partition=p)
    producer.flush(10)
    return name, partitions


def _consumer(bootstrap: str, group: str, **extra: Any) -> Consumer:
    conf: dict[str, Any] = {"bootstrap.servers": bootstrap, "group.id": group, **GROUP_CONF}
    if extra.get("group.protocol") == "consumer":
        conf.pop("session.timeout.ms")
        conf.pop("heartbeat.interval.ms")
    return Consumer({**conf, **extra})


def first_record(bootstrap: str, **extra: Any) -> float:
    """Return seconds from ``subscribe()`` to the first record of a new group."""
    topic, _ = _topic(bootstrap)
    c = _consumer(bootstrap, f"bench-{uuid.uuid4().hex}", **extra)
    try:
        t = time.perf_counter()
        c.subscribe([topic])
        deadline = t + DEADLINE_S
        while time.perf_counter() < deadline:
            msg = c.poll(0.01)
            if msg is not None and not msg.error():
                return time.perf_counter() - t
        raise RuntimeError("no record within the deadline")
    finally:
        c.close()


def three_stable(bootstrap: str) -> float:
    """Return seconds from three ``subscribe()`` calls until every partition is assigned
    and every member holds at least one."""
    topic, partitions = _topic(bootstrap)
    group = f"bench-{uuid.uuid4().hex}"
    members = [_consumer(bootstrap, group) for _ in range(3)]
    try:
        t = time.perf_counter()
        for c in members:
            c.subscribe([topic])
        deadline = t + DEADLINE_S
        while time.perf_counter() < deadline:
            for c in members:
                c.poll(0.005)
            sizes = [len(c.assignment()) for c in members]
            if all(sizes) and sum(sizes) == partitions:
                return time.perf_counter() - t
        raise RuntimeError("group not stable within the deadline")
    finally:
        for c in members:
            c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    runs = 3 if parser.parse_args().quick else 7
    rows = []
    with (
        reference_kafka(broker_properties={"num.partitions": "4"}) as ref,
        EmbeddedKafka(partitions=4) as kafka,
        mock_cluster() as mock,
    ):
        ours = kafka.bootstrap_servers
        theirs = ref.bootstrap_servers if ref is not None else None
        first_record(ours)  # warm up all (imports, first connections)
        first_record(mock)
        if theirs:
            first_record(theirs)

        def on_kafka(fn: Any, **extra: Any) -> float | None:
            return median_ms(lambda: fn(theirs, **extra), runs) if theirs else None

        rows.append(Row("subscribe -> first record, classic (median)",
                        median_ms(lambda: first_record(ours), runs),
                        median_ms(lambda: first_record(mock), runs), "ms",
                        "librdkafka mock cluster", False, on_kafka(first_record)))
        try:
            mock_848 = median_ms(lambda: first_record(mock, **{"group.protocol": "consumer"}),
                                 runs)
        except Exception as exc:  # the mock cluster may not speak KIP-848
            print(f"mock cluster KIP-848 baseline unavailable: {exc}")
            mock_848 = float("nan")
        rows.append(Row("subscribe -> first record, KIP-848 (median)",
                        median_ms(lambda: first_record(ours, **{"group.protocol": "consumer"}),
                                  runs),
                        mock_848, "ms", "librdkafka mock cluster", False,
                        on_kafka(first_record, **{"group.protocol": "consumer"})))
        rows.append(Row("3-member group Stable, 4 partitions (median)",
                        median_ms(lambda: three_stable(ours), runs),
                        median_ms(lambda: three_stable(mock), runs), "ms",
                        "librdkafka mock cluster", False, on_kafka(three_stable)))
    print_table("streamtest consumer groups", rows)
    goal = rows[0].ours
    print(f"goal: subscribe -> first record under 300 ms: {'met' if goal < 300 else 'MISSED'}"
          f" ({goal:.0f} ms)")
    print("issue 12 target, group join faster than Apache Kafka's:")
    for r in rows:
        print(verdict(r.name, r.kafka_ratio, 1))


if __name__ == "__main__":
    main()
