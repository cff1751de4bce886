"""Transactional produce throughput (issue 4), against baselines from the same run.

* transactional: confluent-kafka with ``transactional.id``, 100 records per
  transaction (begin, 100 x produce, commit), vs plain non-transactional produce of
  the same records to the same broker. The ratio is the cost of exactly-once: an
  AddPartitionsToTxn and an EndTxn (with its markers) per 100 records, and the
  wait for each commit.
* the same two workloads against librdkafka's built-in mock cluster, which also
  implements transactions, as a peer.

The broker runs in process mode, so the client and the broker do not share a GIL.
Run: ``python benchmarks/bench_transactions.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import uuid

from _common import (  # type: ignore[import-not-found]
    Row,
    mock_cluster,
    print_table,
    produce_all,
)
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from streamtest import EmbeddedKafka

VALUE = b"x" * 100
PER_TXN = 100
PARTITIONS = 3


def _topic(bootstrap: str) -> str:
    """Create a topic with ``PARTITIONS`` partitions and warm it up; return its name.

    librdkafka's mock cluster lacks CreateTopics; it auto-creates topics (with 4
    partitions) on first produce, which is enough for the 3 used here.
    """
    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        admin.create_topics([NewTopic(name, PARTITIONS, 1)])[name].result(3)
    except Exception:
        pass  # the mock cluster: auto-created below
    warm = Producer({"bootstrap.servers": bootstrap})
    for partition in range(PARTITIONS):
        warm.produce(name, value=b"warm-up", partition=partition)
    if warm.flush(10):
        raise RuntimeError(f"could not produce to {name}")
    return name


def plain_rate(bootstrap: str, records: int) -> float:
    """Return records/s for non-transactional produce (acks=all) of ``records``."""
    topic = _topic(bootstrap)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    producer.produce(topic, value=VALUE)  # connect and fetch metadata outside the clock
    producer.flush(10)
    t = time.perf_counter()
    produce_all(producer, topic, VALUE, records, PARTITIONS)
    if producer.flush(60):
        raise RuntimeError("records left unsent")
    return records / (time.perf_counter() - t)


def transactional_rate(bootstrap: str, records: int) -> float:
    """Return records/s for transactions of ``PER_TXN`` records each."""
    topic = _topic(bootstrap)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 5, "transactional.id": topic}
    )
    producer.init_transactions(30)
    producer.begin_transaction()  # one warm-up transaction outside the clock
    producer.produce(topic, value=VALUE)
    producer.commit_transaction(30)
    t = time.perf_counter()
    for start in range(0, records, PER_TXN):
        producer.begin_transaction()
        for i in range(start, min(start + PER_TXN, records)):
            producer.produce(topic, value=VALUE, partition=i % PARTITIONS)
        producer.commit_transaction(30)
    return records / (time.perf_counter() - t)


def best(fn: object, bootstrap: str, records: int, runs: int) -> float:
    """Return the best of ``runs`` rates (noise on a shared machine only slows runs)."""
    return max(fn(bootstrap, records) for _ in range(runs))  # type: ignore[operator]


def main() -> None:
    """Measure and print the table."""
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="fewer records and runs")
    args = p.parse_args()
    records = 5_000 if args.quick else 20_000
    runs = 1 if args.quick else 3

    with EmbeddedKafka(mode="process") as kafka:
        ours_plain = best(plain_rate, kafka.bootstrap_servers, records, runs)
        ours_txn = best(transactional_rate, kafka.bootstrap_servers, records, runs)
    with mock_cluster() as bootstrap:
        mock_plain = best(plain_rate, bootstrap, records, runs)
        mock_txn = best(transactional_rate, bootstrap, records, runs)

    print_table(
        f"Transactions: {records} x {len(VALUE)}-byte records, {PER_TXN} per transaction, "
        f"{PARTITIONS} partitions (best of {runs})",
        [
            Row("transactional vs non-transactional (ours)", ours_txn, ours_plain, "r/s",
                "non-transactional, same broker", True),
            Row("transactional vs librdkafka mock", ours_txn, mock_txn, "r/s",
                "mock cluster, transactional", True),
            Row("non-transactional vs librdkafka mock", ours_plain, mock_plain, "r/s",
                "mock cluster, non-transactional", True),
        ],
    )
    print(f"transactional / non-transactional throughput: ours {ours_txn / ours_plain:.2f}, "
          f"mock cluster {mock_txn / mock_plain:.2f}")


if __name__ == "__main__":
    main()
