"""Benchmark results: per-interval figures, the totals, their JSON form and comparison.

:meth:`BenchResult.to_json` writes exactly the keys ``records``, ``errors``,
``duration_s``, ``throughput`` (``records_per_s``, ``mb_per_s``), ``latency_ms``
(``p50``, ``p95``, ``p99``, ``p99_9``, ``max``, ``mean``) and ``intervals`` (each
``t_s``, ``records_per_s``, ``mb_per_s``, ``p99_ms``). MB is 2**20 bytes, as in
Kafka's perf tools, so the figures compare directly.

What ``records`` and the latency mean depends on the mode:

* produce: records acknowledged by the cluster; latency from ``produce()`` to the
  acknowledgement (librdkafka's ``Message.latency()``), every record.
* consume: records consumed; latency is how long each ``consume()`` call that
  returned records took (how long the application waited for data).
* e2e: records consumed; latency from just before ``produce()`` to the consumer
  receiving the record (the send time travels in the record's first 8 bytes; the
  clocks of the producing and consuming hosts must agree).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..ops.errors import InvalidInputError
from . import histogram as hdr

MB = 1024 * 1024
LATENCY_KEYS = ("p50", "p95", "p99", "p99_9", "max", "mean")
TOP_KEYS = ("records", "errors", "duration_s", "throughput", "latency_ms", "intervals")


@dataclass
class Interval:
    """What one role (``produce`` or ``consume``) did in one interval, over all workers."""

    index: int
    records: int = 0
    bytes: int = 0
    errors: int = 0
    histogram: Any = field(default_factory=hdr.new_histogram)

    def add(self, records: int, nbytes: int, errors: int, histogram: Any) -> None:
        """Add one worker's report for this interval."""
        self.records += records
        self.bytes += nbytes
        self.errors += errors
        hdr.merge(self.histogram, histogram)


@dataclass
class IntervalStats:
    """One interval as shown live and written to ``intervals``."""

    t_s: float
    records_per_s: float
    mb_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    errors: int


class Tally:
    """Merges the reports of every worker of one role into intervals and totals."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.intervals: dict[int, Interval] = {}
        self.total = hdr.new_histogram()
        self.records = 0
        self.bytes = 0
        self.errors = 0

    def add(self, index: int, records: int, nbytes: int, errors: int, histogram: Any) -> None:
        """Add one worker's report for interval ``index``."""
        self.intervals.setdefault(index, Interval(index)).add(records, nbytes, errors, histogram)
        hdr.merge(self.total, histogram)
        self.records += records
        self.bytes += nbytes
        self.errors += errors

    def stats(self, index: int, length: float | None = None) -> IntervalStats:
        """Return the figures of interval ``index`` (zeros if nothing happened in it);
        ``length`` is how long it really lasted when the run ended inside it."""
        iv = self.intervals.get(index) or Interval(index)
        s = hdr.summary_ms(iv.histogram)
        seconds = self.interval_s if not length or length > self.interval_s else length
        return IntervalStats(
            round(index * self.interval_s + seconds, 3),
            iv.records / seconds,
            iv.bytes / seconds / MB,
            s["p50"],
            s["p99"],
            s["max"],
            iv.errors,
        )

    def all_stats(
        self, last_index: int | None = None, duration_s: float | None = None
    ) -> list[IntervalStats]:
        """Return every interval from 0 to the last one with data (or ``last_index``);
        with ``duration_s``, the interval in which the run ended is measured over the
        part of it that ran."""
        last = max(self.intervals, default=-1) if last_index is None else last_index
        out = []
        for i in range(last + 1):
            length = None
            if duration_s is not None and i * self.interval_s < duration_s:
                length = duration_s - i * self.interval_s
            out.append(self.stats(i, length))
        return out


@dataclass
class BenchResult:
    """The outcome of one run.

    Attributes:
        mode: produce, consume or e2e.
        records: records measured (acknowledged, or consumed).
        errors: failed deliveries and consumer errors.
        duration_s: from the common start to the last measured record.
        bytes: value bytes of the measured records.
        latency: p50/p95/p99/p99_9/max/mean in milliseconds (``None`` if no records).
        intervals: per-interval figures of the measured role.
        produced: e2e only: records the producers had acknowledged.
        produce_intervals: e2e only: the producers' intervals.
        error_messages: distinct error messages seen (at most a few).
        interrupted: the run was stopped early (Ctrl-C); the figures cover what ran.
        histogram: the merged latency histogram (microseconds).
    """

    mode: str
    records: int
    errors: int
    duration_s: float
    bytes: int
    latency: dict[str, float | None]
    intervals: list[IntervalStats]
    produced: int | None = None
    produce_intervals: list[IntervalStats] = field(default_factory=list)
    error_messages: list[str] = field(default_factory=list)
    interrupted: bool = False
    histogram: Any = None

    @property
    def records_per_s(self) -> float:
        """Return records per second over the whole run."""
        return self.records / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        """Return MB (2**20 bytes) of record values per second over the whole run."""
        return self.bytes / self.duration_s / MB if self.duration_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the result with exactly the documented top-level keys."""
        return {
            "records": self.records,
            "errors": self.errors,
            "duration_s": round(self.duration_s, 3),
            "throughput": {
                "records_per_s": round(self.records_per_s, 1),
                "mb_per_s": round(self.mb_per_s, 3),
            },
            "latency_ms": {k: self.latency.get(k) for k in LATENCY_KEYS},
            "intervals": [
                {
                    "t_s": iv.t_s,
                    "records_per_s": round(iv.records_per_s, 1),
                    "mb_per_s": round(iv.mb_per_s, 3),
                    "p99_ms": iv.p99_ms,
                }
                for iv in self.intervals
            ],
        }

    def write_json(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path``.

        Raises:
            InvalidInputError: the file cannot be written.
        """
        try:
            Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot write {path}: {exc.strerror}") from None


# -- reading results back and comparing them ------------------------------------------


@dataclass(frozen=True)
class SavedResult:
    """A result read back from a ``--json`` file."""

    path: str
    data: dict[str, Any]


def load_result(path: str | Path) -> SavedResult:
    """Read a ``--json`` result file.

    Raises:
        InvalidInputError: the file cannot be read, is not JSON, or lacks a key.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} is not a streamtest bench result (not an object)")
    missing = [k for k in TOP_KEYS if k not in data]
    if missing:
        raise InvalidInputError(f"{path} is not a streamtest bench result: no {', '.join(missing)}")
    return SavedResult(str(path), data)


@dataclass(frozen=True)
class CompareRow:
    """One figure of two results, with B/A and whether B is better."""

    name: str
    a: float | None
    b: float | None
    higher_is_better: bool

    @property
    def ratio(self) -> float | None:
        """Return ``b / a`` (``None`` when either is missing or ``a`` is 0)."""
        if self.a is None or self.b is None or self.a == 0:
            return None
        return self.b / self.a

    @property
    def verdict(self) -> str:
        """Return ``better``, ``worse`` or ``same`` (within 2%) for B against A."""
        r = self.ratio
        if r is None or math.isclose(r, 1.0, rel_tol=0.02):
            return "same" if r is not None else "-"
        return "better" if (r > 1) == self.higher_is_better else "worse"


def compare(a: SavedResult, b: SavedResult) -> list[CompareRow]:
    """Return the figures of ``a`` and ``b`` side by side."""

    def num(data: dict[str, Any], *path: str) -> float | None:
        value: Any = data
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return float(value) if isinstance(value, int | float) else None

    rows = [
        CompareRow("records", num(a.data, "records"), num(b.data, "records"), True),
        CompareRow("errors", num(a.data, "errors"), num(b.data, "errors"), False),
        CompareRow("duration_s", num(a.data, "duration_s"), num(b.data, "duration_s"), False),
        CompareRow(
            "records/s",
            num(a.data, "throughput", "records_per_s"),
            num(b.data, "throughput", "records_per_s"),
            True,
        ),
        CompareRow(
            "MB/s",
            num(a.data, "throughput", "mb_per_s"),
            num(b.data, "throughput", "mb_per_s"),
            True,
        ),
    ]
    for key in LATENCY_KEYS:
        rows.append(
            CompareRow(
                f"latency {key} ms",
                num(a.data, "latency_ms", key),
                num(b.data, "latency_ms", key),
                False,
            )
        )
    return rows


def distinct(messages: Iterable[str], limit: int = 5) -> list[str]:
    """Return up to ``limit`` distinct messages, in first-seen order."""
    out: list[str] = []
    for m in messages:
        if m not in out:
            out.append(m)
        if len(out) >= limit:
            break
    return out
