"""Shared pieces for benchmarks: baselines, timing and a results table.

Every benchmark prints a ratio against a baseline measured in the same run on the
same machine, never a bare time: absolute numbers depend on the machine, ratios
much less so.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer


@contextmanager
def mock_cluster() -> Iterator[str]:
    """Start librdkafka's built-in mock cluster; yield its bootstrap address.

    The mock cluster lives inside the client instance that created it
    (``test.mock.num.brokers``), so that instance is kept open meanwhile.
    """
    owner = Producer({"test.mock.num.brokers": 1, "log_level": 0})
    brokers = owner.list_topics(timeout=10).brokers
    broker = next(iter(brokers.values()))
    try:
        yield f"{broker.host}:{broker.port}"
    finally:
        del owner


@contextmanager
def reference_kafka(**options: Any) -> Iterator[Any]:
    """Start Apache Kafka (the reference broker, issue 12) for a baseline column;
    yield it, or ``None`` (saying why) where Java, Maven or Maven Central is missing,
    so the benchmark still runs and prints its other columns."""
    from streamtest.kit.reference_kafka import ReferenceKafka, ReferenceKafkaError

    try:
        kafka = ReferenceKafka(**options).start()
    except ReferenceKafkaError as exc:
        print(f"Apache Kafka baseline unavailable: {exc}")
        yield None
        return
    try:
        yield kafka
    finally:
        kafka.stop()


def median_ms(fn: Callable[[], float], runs: int) -> float:
    """Run ``fn`` (which returns seconds) ``runs`` times; return the median in ms."""
    return statistics.median(fn() for _ in range(runs)) * 1000


@dataclass
class Row:
    """One benchmark result: ours, the baseline, and which way is better."""

    name: str
    ours: float
    baseline: float
    unit: str
    baseline_name: str
    higher_is_better: bool
    #: The same figure on Apache Kafka (the reference broker), when measured.
    kafka: float | None = None

    @property
    def ratio(self) -> float:
        """Return how many times better (>1) or worse (<1) we are than the baseline."""
        return self._ratio(self.baseline)

    @property
    def kafka_ratio(self) -> float | None:
        """Return how many times better (>1) or worse (<1) we are than Apache Kafka."""
        return None if self.kafka is None else self._ratio(self.kafka)

    def _ratio(self, other: float) -> float:
        if self.higher_is_better:
            return self.ours / other if other else float("inf")
        return other / self.ours if self.ours else float("inf")


def print_table(title: str, rows: list[Row]) -> None:
    """Print results with ratios (>1.00x means streamtest is better), with an Apache
    Kafka column when any row measured it."""
    with_kafka = any(r.kafka is not None for r in rows)
    print(f"\n{title}")
    head = f"{'benchmark':44} {'streamtest':>14} {'baseline':>14}  {'ratio':>7}"
    if with_kafka:
        head += f" {'Apache Kafka':>14}  {'ratio':>7}"
    print(head + "  baseline")
    for r in rows:
        line = (
            f"{r.name:44} {r.ours:>10.1f} {r.unit:<3} {r.baseline:>10.1f} {r.unit:<3}"
            f"  {r.ratio:>6.2f}x"
        )
        if with_kafka:
            if r.kafka is None:
                line += f" {'-':>14}  {'-':>7}"
            else:
                line += f" {r.kafka:>10.1f} {r.unit:<3}  {r.kafka_ratio:>6.2f}x"
        print(line + f"  {r.baseline_name}")
    print("(ratio > 1 means streamtest is better: faster, or more per second)")


def verdict(name: str, value: float | None, target: float, unit: str = "x") -> str:
    """Return one line saying whether ``value`` meets ``target`` (at least)."""
    if value is None:
        return f"{name}: not measured (no Apache Kafka) - target >= {target:g}{unit}"
    met = "met" if value >= target else "NOT MET"
    return f"{name}: {value:.2f}{unit} (target >= {target:g}{unit}) {met}"


def produce_all(producer: Producer, topic: str, value: bytes, n: int, partitions: int) -> None:
    """Produce ``n`` copies of ``value`` round-robin over ``partitions`` partitions,
    waiting for room whenever librdkafka's local queue is full (BufferError)."""
    for i in range(n):
        while True:
            try:
                producer.produce(topic, value=value, partition=i % partitions)
                break
            except BufferError:
                producer.poll(0.01)


def timed(fn: Callable[[], object]) -> float:
    """Return the seconds ``fn()`` took."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t
