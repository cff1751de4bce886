"""Multi-node cluster benchmarks (issue 11), each ratio against a baseline of this run.

* start-up: a 3-node cluster vs a single node (target: <= 3x the single-node time);
* replication cost: acks=all produce throughput with RF=3 on 3 nodes vs acks=all
  on one node (target: >= 0.5x);
* failover: from ``stop_node(leader)`` to the next acknowledged acks=all record,
  with confluent-kafka defaults (target: <= 1 s), and with kafka-python and
  aiokafka, against the same client's time for a record with no failover;
* no loss: 20 leader failovers under continuous idempotent load, counting
  acknowledged records missing from the log and duplicates (target: 0 and 0).

Run: ``python benchmarks/bench_cluster.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

from _common import Row, print_table, produce_all  # type: ignore[import-not-found]
from confluent_kafka import Producer

from streamtest import EmbeddedKafka

VALUE = b"x" * 100


def start_time(brokers: int, runs: int) -> float:
    """Return the median seconds of ``EmbeddedKafka(brokers=...).start()``."""
    samples = []
    for _ in range(runs):
        kafka = EmbeddedKafka(brokers=brokers)
        t = time.perf_counter()
        kafka.start()
        samples.append(time.perf_counter() - t)
        kafka.stop()
    return statistics.median(samples)


def acks_all_rate(brokers: int, rf: int, n: int) -> float:
    """Return records/s of an acks=all confluent-kafka producer (3 partitions)."""
    with EmbeddedKafka(brokers=brokers) as kafka:
        kafka.create_topic("rate", 3, replication_factor=rf)
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "all",
                             "linger.ms": 5, "batch.num.messages": 10_000})
        produce_all(producer, "rate", VALUE, 1000, 3)  # warm up: connections, metadata
        producer.flush(30)
        t = time.perf_counter()
        produce_all(producer, "rate", VALUE, n, 3)
        producer.flush(60)
        return n / (time.perf_counter() - t)


def confluent_failover(kafka: EmbeddedKafka, topic: str, stop: bool) -> float:
    """Seconds from stopping the leader (or not, for the baseline) to the next
    acknowledged acks=all record, with confluent-kafka's defaults."""
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "all"})
    done = threading.Event()
    producer.produce(topic, b"warm", partition=0)
    producer.flush(30)
    leader = kafka.leader(topic, 0)
    t = time.perf_counter()
    if stop:
        kafka.stop_node(leader)
    producer.produce(topic, b"after", partition=0, on_delivery=lambda err, msg: done.set())
    while not done.is_set():
        producer.poll(0.005)
    elapsed = time.perf_counter() - t
    producer.flush(10)
    if stop:
        kafka.start_node(leader)
    return elapsed


def kafka_python_failover(kafka: EmbeddedKafka, topic: str, stop: bool) -> float:
    """As :func:`confluent_failover`, with kafka-python's producer."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    producer.send(topic, b"warm", partition=0).get(timeout=30)
    leader = kafka.leader(topic, 0)
    t = time.perf_counter()
    if stop:
        kafka.stop_node(leader)
    producer.send(topic, b"after", partition=0).get(timeout=60)
    elapsed = time.perf_counter() - t
    producer.close(5)
    if stop:
        kafka.start_node(leader)
    return elapsed


def aiokafka_failover(kafka: EmbeddedKafka, topic: str, stop: bool) -> float:
    """As :func:`confluent_failover`, with aiokafka's producer."""
    from aiokafka import AIOKafkaProducer

    async def main() -> float:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"warm", partition=0)
            leader = kafka.leader(topic, 0)
            t = time.perf_counter()
            if stop:
                kafka.stop_node(leader)
            await producer.send_and_wait(topic, b"after", partition=0)
            elapsed = time.perf_counter() - t
        finally:
            await producer.stop()
        if stop:
            kafka.start_node(leader)
        return elapsed

    return asyncio.run(main())


def failovers(runs: int) -> list[Row]:
    rows = []
    clients = [
        ("confluent-kafka", confluent_failover),
        ("kafka-python", kafka_python_failover),
        ("aiokafka", aiokafka_failover),
    ]
    with EmbeddedKafka(brokers=3) as kafka:
        for i, (name, fn) in enumerate(clients):
            topic = f"failover-{i}"
            kafka.create_topic(topic, 1, replication_factor=3)
            baseline = statistics.median(fn(kafka, topic, False) for _ in range(runs))
            ours = statistics.median(fn(kafka, topic, True) for _ in range(runs))
            rows.append(Row(f"failover to next acks=all ack ({name})", ours * 1000,
                            baseline * 1000, "ms", "same client, no failover", False))
            print(f"  {name}: failover median {ours * 1000:.0f} ms "
                  f"(target <= 1000 ms: {'met' if ours <= 1 else 'NOT met'})")
    return rows


def no_loss(failover_count: int) -> tuple[int, int, int]:
    """Return (acknowledged, lost, duplicated) over ``failover_count`` leader
    failovers under continuous idempotent acks=all load."""
    with EmbeddedKafka(brokers=3, settings={"min.insync.replicas": 2}) as kafka:
        kafka.create_topic("noloss", 3, replication_factor=3)
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "all",
                             "enable.idempotence": True, "linger.ms": 2})
        acked: list[bytes] = []
        errors: list[object] = []
        stop = threading.Event()
        producer.produce("noloss", b"warm-up")  # the producer id, before the load starts
        producer.flush(30)

        def on_delivery(err: object, msg: object) -> None:
            if err is None:
                acked.append(msg.value())  # type: ignore[attr-defined]
            else:
                errors.append(err)

        def load() -> None:
            i = 0
            while not stop.is_set():
                try:
                    producer.produce("noloss", b"%08d" % i, on_delivery=on_delivery)
                    i += 1
                except BufferError:
                    producer.poll(0.05)
                producer.poll(0)
            producer.flush(60)

        thread = threading.Thread(target=load)
        thread.start()
        try:
            for k in range(failover_count):
                # Spread the failovers over the load: thousands of acks between them.
                target = len(acked) + 5000
                while len(acked) < target:
                    time.sleep(0.001)  # benchmark pacing (a measurement loop, not a test)
                victim = kafka.leader("noloss", k % 3)
                kafka.stop_node(victim)
                target = len(acked) + 5000
                while len(acked) < target:
                    time.sleep(0.001)
                kafka.start_node(victim)
        finally:
            stop.set()
            thread.join(120)
        stored = [r.value for r in kafka.records("noloss") if r.value != b"warm-up"]
        lost = len(set(acked) - set(stored))
        duplicated = len(stored) - len(set(stored))
        if errors:
            print(f"  delivery errors: {len(errors)} (first: {errors[0]})")
        return len(acked), lost, duplicated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and records")
    args = parser.parse_args()
    runs = 3 if args.quick else 7
    n = 50_000 if args.quick else 200_000

    one, three = start_time(1, runs * 3), start_time(3, runs * 3)
    rows = [Row("start(): 3 nodes vs 1 node", three * 1000, one * 1000, "ms", "1 node", False)]
    print(f"  3-node start is {three / one:.2f}x the 1-node start "
          f"(target <= 3x: {'met' if three <= 3 * one else 'NOT met'})")

    single = statistics.median(acks_all_rate(1, 1, n) for _ in range(2 if args.quick else 3))
    replicated = statistics.median(acks_all_rate(3, 3, n) for _ in range(2 if args.quick else 3))
    rows.append(Row("acks=all produce, RF=3 on 3 nodes", replicated / 1000, single / 1000,
                    "k/s", "acks=all, 1 node", True))
    print(f"  RF=3 acks=all throughput is {replicated / single:.2f}x one node "
          f"(target >= 0.5x: {'met' if replicated >= 0.5 * single else 'NOT met'})")

    rows += failovers(runs)
    acked, lost, duplicated = no_loss(20 if not args.quick else 8)
    print(f"  {20 if not args.quick else 8} failovers under load: {acked} acknowledged, "
          f"{lost} lost, {duplicated} duplicated (target 0 and 0: "
          f"{'met' if lost == 0 and duplicated == 0 else 'NOT met'})")
    print_table("cluster (issue 11)", rows)


if __name__ == "__main__":
    main()
