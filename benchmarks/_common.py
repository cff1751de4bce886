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

    @property
    def ratio(self) -> float:
        """Return how many times better (>1) or worse (<1) we are than the baseline."""
        if self.higher_is_better:
            return self.ours / self.baseline if self.baseline else float("inf")
        return self.baseline / self.ours if self.ours else float("inf")


def print_table(title: str, rows: list[Row]) -> None:
    """Print results with ratios (>1.00x means streamtest is better)."""
    print(f"\n{title}")
    print(f"{'benchmark':44} {'streamtest':>14} {'baseline':>14}  {'ratio':>7}  baseline")
    for r in rows:
        print(
            f"{r.name:44} {r.ours:>10.1f} {r.unit:<3} {r.baseline:>10.1f} {r.unit:<3}"
            f"  {r.ratio:>6.2f}x  {r.baseline_name}"
        )
    print("(ratio > 1 means streamtest is better: faster, or more per second)")


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
