"""Time your own pipeline steps inside a test: :class:`StreamingPerformanceTest`.

The API users asked for (``start_test``, ``record_event(latency_ms, success)``,
``calculate_metrics``), backed by an HDR histogram instead of a list of floats, so
it records millions of events in bounded memory and its percentiles are exact to 3
significant digits. ``to_json`` writes the same document as ``streamtest bench
--json``, so ``streamtest bench compare`` compares two test runs too::

    perf = StreamingPerformanceTest()
    perf.start_test()
    for event in events:
        with perf.measure():          # times the block; an exception counts as failed
            process(event)
    metrics = perf.calculate_metrics()
    assert metrics.error_rate == 0 and metrics.latency_p99 < 50
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from . import histogram as hdr
from .result import LATENCY_KEYS


@dataclass(frozen=True)
class PerformanceMetrics:
    """Figures of a :class:`StreamingPerformanceTest`.

    Attributes:
        throughput: events per second (successful and failed) since ``start_test``.
        latency_avg: mean latency of successful events, ms (0 if there are none).
        latency_p95: 95th percentile latency, ms.
        latency_p99: 99th percentile latency, ms.
        error_rate: failed events as a percentage of all events.
        latency_p50: median latency, ms.
        latency_p99_9: 99.9th percentile latency, ms.
        latency_max: largest latency, ms.
        total_events: events recorded.
        errors: failed events.
        duration_s: seconds from ``start_test`` to now (or to ``stop_test``).
    """

    throughput: float
    latency_avg: float
    latency_p95: float
    latency_p99: float
    error_rate: float
    latency_p50: float = 0.0
    latency_p99_9: float = 0.0
    latency_max: float = 0.0
    total_events: int = 0
    errors: int = 0
    duration_s: float = 0.0


class StreamingPerformanceTest:
    """Records per-event latency and success; computes throughput, percentiles and the
    error rate. Safe to call from several threads."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._histogram = hdr.new_histogram()
        self._intervals: dict[int, list[Any]] = {}
        self.total_events = 0
        self.errors = 0
        self.start_time: float | None = None
        self.stop_time: float | None = None

    def start_test(self) -> None:
        """Start (or restart) the measurement: clears everything recorded so far."""
        with self._lock:
            self._histogram = hdr.new_histogram()
            self._intervals = {}
            self.total_events = 0
            self.errors = 0
            self.start_time = time.monotonic()
            self.stop_time = None

    def stop_test(self) -> None:
        """Freeze the end of the measurement (otherwise it is "now")."""
        self.stop_time = time.monotonic()

    def record_event(self, latency_ms: float, success: bool = True) -> None:
        """Record one event: its latency in milliseconds, and whether it succeeded.
        Failed events count in the error rate, not in the latencies.

        Raises:
            ValueError: the test was not started, or the latency is negative.
        """
        if self.start_time is None:
            raise ValueError("Test not started: call start_test() first")
        if latency_ms < 0:
            raise ValueError(f"latency must not be negative, not {latency_ms}")
        index = int((time.monotonic() - self.start_time) / self.interval_s)
        with self._lock:
            self.total_events += 1
            slot = self._intervals.get(index)
            if slot is None:
                slot = self._intervals[index] = [0, hdr.new_histogram()]
            slot[0] += 1
            if success:
                value = min(int(latency_ms * 1000), hdr.HIGHEST_US)
                self._histogram.record_value(value)
                slot[1].record_value(value)
            else:
                self.errors += 1

    @contextmanager
    def measure(self) -> Iterator[None]:
        """Time the ``with`` block as one event; an exception marks it failed (and
        propagates)."""
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self.record_event((time.perf_counter() - start) * 1000, success=False)
            raise
        self.record_event((time.perf_counter() - start) * 1000, success=True)

    def _duration(self) -> float:
        if self.start_time is None:
            raise ValueError("Test not started: call start_test() first")
        end = self.stop_time if self.stop_time is not None else time.monotonic()
        return max(end - self.start_time, 1e-9)

    def calculate_metrics(self) -> PerformanceMetrics:
        """Return the figures so far.

        Raises:
            ValueError: the test was not started.
        """
        duration = self._duration()
        with self._lock:
            s = hdr.summary_ms(self._histogram)
            total, errors = self.total_events, self.errors
        return PerformanceMetrics(
            throughput=total / duration,
            latency_avg=s["mean"] or 0.0,
            latency_p95=s["p95"] or 0.0,
            latency_p99=s["p99"] or 0.0,
            error_rate=errors / total * 100 if total else 0.0,
            latency_p50=s["p50"] or 0.0,
            latency_p99_9=s["p99_9"] or 0.0,
            latency_max=s["max"] or 0.0,
            total_events=total,
            errors=errors,
            duration_s=duration,
        )

    def to_json(self) -> dict[str, Any]:
        """Return the figures as ``streamtest bench --json`` writes them (``records``
        counts every event; ``mb_per_s`` is 0: events have no size).

        Raises:
            ValueError: the test was not started.
        """
        duration = self._duration()
        with self._lock:
            s = hdr.summary_ms(self._histogram)
            last = max(self._intervals, default=-1)
            intervals = []
            for i in range(last + 1):
                count, histogram = self._intervals.get(i, (0, hdr.new_histogram()))
                intervals.append(
                    {
                        "t_s": round((i + 1) * self.interval_s, 3),
                        "records_per_s": round(count / self.interval_s, 1),
                        "mb_per_s": 0.0,
                        "p99_ms": hdr.summary_ms(histogram)["p99"],
                    }
                )
            total = self.total_events
            errors = self.errors
        return {
            "records": total,
            "errors": errors,
            "duration_s": round(duration, 3),
            "throughput": {"records_per_s": round(total / duration, 1), "mb_per_s": 0.0},
            "latency_ms": {k: s[k] for k in LATENCY_KEYS},
            "intervals": intervals,
        }
