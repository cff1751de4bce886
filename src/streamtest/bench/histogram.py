"""Latency histograms: HdrHistogram, recorded in bulk, merged across processes.

Why HdrHistogram (the ``hdrhistogram`` package): percentiles of merged data cannot
be computed from per-process percentiles, and keeping every latency does not scale
to millions of records. An HDR histogram keeps counts in buckets whose width grows
with the value, so it holds any latency from 1 microsecond to an hour at 3
significant digits in a few tens of kilobytes, encodes to a compact string that a
worker process sends to the coordinator, and adds exactly: the merged histogram is
the one a single process would have recorded. It is what Kafka's own tools,
wrk2 and the OpenMessaging Benchmark use.

Recording one value with the pure-Python ``record_value`` costs about 2
microseconds, too much per record at hundreds of thousands of records a second.
:class:`LatencyRecorder` appends raw microseconds to an array in the hot path and
records them once per interval, counting equal values first
(``record_value(v, count)``): the number of distinct microsecond values per second
is bounded by the latency range, not by the record rate.
"""

from __future__ import annotations

from array import array
from collections import Counter
from typing import Any

try:
    from hdrh.histogram import HdrHistogram
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "streamtest bench needs the 'bench' extra: pip install 'streamtest[bench]'"
    ) from exc

#: Trackable range in microseconds: 1 us to 1 hour, 3 significant digits.
LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99_9", 99.9),
)


def new_histogram() -> HdrHistogram:
    """Return an empty histogram of microseconds."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def record_all(histogram: HdrHistogram, values_us: Any) -> None:
    """Record every value of ``values_us`` (integers, microseconds) into ``histogram``;
    values beyond the trackable range are clamped to it.

    Equal values are counted first (in C, by ``Counter``), then each distinct value
    is moved to the lowest value of its HDR bucket, so that ``record_value`` runs
    once per bucket, not once per value. With 3 significant digits a bucket holds
    the values that agree in their top 11 bits (HdrHistogram's sub-bucket count is
    2048), so the histogram is exactly the one recording each value would give.
    """
    buckets: dict[int, int] = {}
    for value, count in Counter(values_us).items():
        v = min(max(int(value), 0), HIGHEST_US)
        shift = v.bit_length() - 11
        if shift > 0:
            v = (v >> shift) << shift
        buckets[v] = buckets.get(v, 0) + count
    for v, count in buckets.items():
        histogram.record_value(v, count)


def encode(histogram: HdrHistogram) -> str:
    """Return ``histogram`` as a compressed base64 string (HdrHistogram's V2 format)."""
    return histogram.encode().decode("ascii")


def decode(text: str) -> HdrHistogram:
    """Return the histogram encoded by :func:`encode`.

    Raises:
        ValueError: ``text`` is not an encoded histogram.
    """
    try:
        return HdrHistogram.decode(text.encode("ascii"))
    except Exception as exc:
        raise ValueError(f"not an encoded HdrHistogram: {exc}") from None


def merge(into: HdrHistogram, other: HdrHistogram) -> HdrHistogram:
    """Add ``other``'s counts to ``into``; return ``into``."""
    if other.get_total_count():
        into.add(other)
    return into


def summary_ms(histogram: HdrHistogram) -> dict[str, float | None]:
    """Return p50, p95, p99, p99.9, max and mean in milliseconds (``None`` each
    when the histogram is empty)."""
    keys = [k for k, _ in PERCENTILES] + ["max", "mean"]
    if histogram.get_total_count() == 0:
        return dict.fromkeys(keys)
    out: dict[str, float | None] = {
        key: _ms(histogram.get_value_at_percentile(p)) for key, p in PERCENTILES
    }
    out["max"] = _ms(histogram.get_max_value())
    out["mean"] = _ms(histogram.get_mean_value())
    return out


def _ms(value_us: float) -> float:
    return round(value_us / 1000.0, 3)


class LatencyRecorder:
    """Collects latencies cheaply on the hot path; :meth:`drain` turns them into an
    HDR histogram."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: array[int] = array("q")

    def add_seconds(self, seconds: float) -> None:
        """Add one latency given in seconds."""
        self.values.append(int(seconds * 1_000_000))

    def drain(self) -> HdrHistogram:
        """Return the histogram of everything added since the last drain."""
        histogram = new_histogram()
        if self.values:
            values, self.values = self.values, array("q")
            record_all(histogram, values)
        return histogram
