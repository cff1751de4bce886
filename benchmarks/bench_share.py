"""Share-group benchmarks (issue 15), each with a baseline measured in the same run on
the same embedded broker (process mode: the broker has its own interpreter).

* Throughput: records per second through two confluent-kafka ShareConsumers
  (implicit acknowledgement) draining one partition, against a classic consumer
  group of two Consumers draining the same records from an identical topic (one
  of them gets the partition: a classic group cannot share it). Timed from the
  first record received to the last.
* Redelivery latency: a ShareConsumer (explicit acknowledgement) RELEASEs a record
  and polls until it comes back (the RELEASE rides on the next ShareFetch, which
  acquires the record again at once), against a classic Consumer seeking back to
  the record and polling until it comes back (the classic way to read it again),
  with librdkafka's default ``fetch.wait.max.ms`` (a seek waits for the long poll
  in flight, up to 500 ms) and with 10 ms. Median of several rounds.

Run: ``python benchmarks/bench_share.py [--quick] [--records N]``.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from typing import Any

from _common import Row, print_table, produce_all  # type: ignore[import-not-found]
from confluent_kafka import AcknowledgeType, Consumer, Producer, ShareConsumer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from streamtest import EmbeddedKafka

DEADLINE_S = 120.0
VALUE = b"x" * 100


def _fill(bootstrap: str, topic: str, n: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "log_level": 0})
    produce_all(producer, topic, VALUE, n, 1)
    if producer.flush(60) != 0:
        raise RuntimeError(f"could not produce to {topic}")


def _earliest(bootstrap: str, group: str) -> None:
    entry = ConfigEntry(
        "share.auto.offset.reset", "earliest", incremental_operation=AlterConfigOpType.SET
    )
    res = ConfigResource(ResourceType.GROUP, group, incremental_configs=[entry])
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    admin.incremental_alter_configs([res])[res].result()


def _drain(consumers: list[Any], n: int, share: bool) -> float:
    """Poll each consumer in its own thread (librdkafka releases the GIL while it
    waits) until ``n`` distinct offsets arrived between them; return the seconds
    from the first record to the last. A thread per consumer keeps an idle member
    (a classic group's second consumer has no partition) from slowing the other."""
    seen: set[int] = set()
    lock = threading.Lock()
    first: list[float] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def run(c: Any) -> None:
        try:
            deadline = time.monotonic() + DEADLINE_S
            while not done.is_set():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"drained {len(seen)} of {n} records")
                got = c.poll(timeout=0.05) if share else c.consume(500, timeout=0.05)
                offsets = [m.offset() for m in got if m.error() is None]
                if offsets:
                    with lock:
                        if not first:
                            first.append(time.monotonic())
                        seen.update(offsets)
                        if len(seen) >= n:
                            done.set()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            done.set()

    threads = [threading.Thread(target=run, args=(c,)) for c in consumers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.monotonic() - first[0]


def throughput(kafka: EmbeddedKafka, n: int) -> tuple[float, float]:
    """Return records/s of two share consumers and of a classic group of two."""
    bootstrap = kafka.bootstrap_servers
    share_topic, classic_topic = f"share-{uuid.uuid4().hex[:6]}", f"classic-{uuid.uuid4().hex[:6]}"
    kafka.create_topic(share_topic, 1)
    kafka.create_topic(classic_topic, 1)
    _fill(bootstrap, share_topic, n)
    _fill(bootstrap, classic_topic, n)

    group = f"share-{uuid.uuid4().hex[:6]}"
    _earliest(bootstrap, group)
    shares = [
        ShareConsumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
        for _ in range(2)
    ]
    for c in shares:
        c.subscribe([share_topic])
    try:
        share_s = _drain(shares, n, share=True)
    finally:
        for c in shares:
            c.close()

    cgroup = f"classic-{uuid.uuid4().hex[:6]}"
    classics = [
        Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": cgroup,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "log_level": 0,
            }
        )
        for _ in range(2)
    ]
    for c in classics:
        c.subscribe([classic_topic])
    try:
        classic_s = _drain(classics, n, share=False)
    finally:
        for c in classics:
            c.close()
    return n / share_s, n / classic_s


def redelivery(kafka: EmbeddedKafka, rounds: int) -> tuple[float, float, float]:
    """Return the median ms until a RELEASEd record comes back to a share consumer,
    and until a classic consumer reads a record again after seeking back to it, with
    librdkafka's default fetch.wait.max.ms (500 ms: a seek waits for the fetch in
    flight) and with 10 ms.

    Each round uses its own record (a record is archived after
    ``share.delivery.count.limit`` deliveries): it is delivered, released, timed
    until it comes back, then accepted."""
    bootstrap = kafka.bootstrap_servers
    topic = f"redeliver-{uuid.uuid4().hex[:6]}"
    kafka.create_topic(topic, 1)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "log_level": 0})
    for _ in range(rounds + 1):  # one batch per record: a fetch then takes one record
        producer.produce(topic, VALUE, partition=0)
        producer.flush(10)
    group = f"share-{uuid.uuid4().hex[:6]}"
    _earliest(bootstrap, group)
    sc = ShareConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "log_level": 0,
            "share.acknowledgement.mode": "explicit",
            "max.poll.records": 1,
        }
    )
    sc.subscribe([topic])
    share_ms: list[float] = []
    try:
        for _ in range(rounds + 1):
            msg = _first(lambda: sc.poll(timeout=0.05))
            sc.acknowledge(msg, AcknowledgeType.RELEASE)
            start = time.perf_counter()
            again = _first(lambda: sc.poll(timeout=0.05))
            share_ms.append((time.perf_counter() - start) * 1000)
            assert (again.offset(), again.delivery_count()) == (msg.offset(), 2)
            sc.acknowledge(again, AcknowledgeType.ACCEPT)
        sc.commit_sync()
    finally:
        sc.close()

    classic_ms = _seek_back(bootstrap, topic, rounds, {})
    quick_ms = _seek_back(bootstrap, topic, rounds, {"fetch.wait.max.ms": 10})
    # The first round warms up the connection and the session; leave it out.
    return statistics.median(share_ms[1:]), classic_ms, quick_ms


def _seek_back(bootstrap: str, topic: str, rounds: int, conf: dict[str, Any]) -> float:
    """Return the median ms for a classic consumer to read a record again after
    seeking back to it (each round: read one record, seek back, read it again)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"c-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
            **conf,
        }
    )
    took: list[float] = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        for _ in range(rounds + 1):
            msg = _first(lambda: c.consume(1, timeout=0.05))
            start = time.perf_counter()
            c.seek(TopicPartition(topic, 0, msg.offset()))
            again = _first(lambda: c.consume(1, timeout=0.05))
            took.append((time.perf_counter() - start) * 1000)
            assert again.offset() == msg.offset()
    finally:
        c.close()
    return statistics.median(took[1:])


def _first(poll: Any) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        for m in poll():
            if m.error() is None:
                return m
    raise RuntimeError("no record within the deadline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer records and rounds")
    parser.add_argument("--records", type=int, default=None, help="records to drain")
    args = parser.parse_args()
    n = args.records or (20_000 if args.quick else 100_000)
    rounds = 10 if args.quick else 30
    with EmbeddedKafka(mode="process") as kafka:
        share_rate, classic_rate = throughput(kafka, n)
        share_ms, classic_ms, quick_ms = redelivery(kafka, rounds)
    print_table(
        f"Share groups on the embedded broker (process mode), {n:,} records of "
        f"{len(VALUE)} bytes, {rounds} redelivery rounds",
        [
            Row(
                "2 share consumers, 1 partition",
                share_rate,
                classic_rate,
                "r/s",
                "classic group of 2",
                True,
            ),
            Row(
                "redelivery after RELEASE (median)",
                share_ms,
                classic_ms,
                "ms",
                "classic seek back",
                False,
            ),
            Row(
                "redelivery after RELEASE (median)",
                share_ms,
                quick_ms,
                "ms",
                "classic seek back, fetch.wait.max.ms=10",
                False,
            ),
        ],
    )


if __name__ == "__main__":
    main()
