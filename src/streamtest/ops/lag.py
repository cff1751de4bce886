"""Consumer lag and backfill progress.

A :class:`LagSnapshot` is one look at a group: per partition its committed
offset, the log end offset and the lag between them. A :class:`LagTracker` keeps
the first snapshot and turns later ones into :class:`LagProgress`: how far the
total lag has come down towards zero, how fast, and when it will reach zero at
that pace. That is the backfill monitor: reset a group to the past, start the
consumers, and watch the lag drain.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka.admin import OffsetSpec

from .client import ClientConfig, check_reachable, list_topic_partitions, resolve_partitions
from .errors import UnknownGroupError
from .groups import committed_offsets, describe_group_raw, list_offsets
from .plan import TP


@dataclass(frozen=True)
class PartitionLag:
    """Lag of one partition; ``committed`` and ``lag`` are ``None`` with no commit yet."""

    tp: TP
    committed: int | None
    log_end_offset: int

    @property
    def lag(self) -> int | None:
        """Return ``log end - committed`` (never negative), or ``None`` with no commit."""
        return None if self.committed is None else max(0, self.log_end_offset - self.committed)


@dataclass(frozen=True)
class LagSnapshot:
    """One look at a group's lag, taken at ``at`` (``time.monotonic()`` seconds)."""

    group: str
    partitions: list[PartitionLag]
    at: float

    @property
    def total_lag(self) -> int:
        """Return the sum of the known partition lags."""
        return sum(p.lag or 0 for p in self.partitions)

    @property
    def total_committed(self) -> int:
        """Return the sum of the committed offsets (for consumption rates)."""
        return sum(p.committed or 0 for p in self.partitions)


def lag_snapshot(
    config: ClientConfig, group: str, topics: Iterable[str] | None = None
) -> LagSnapshot:
    """Return ``group``'s lag on every partition it has committed (or, with ``topics``,
    on every partition of those topics, committed or not).

    Raises:
        UnknownGroupError: the group neither exists nor has committed offsets.
        UnknownTopicError: a topic in ``topics`` does not exist.
        OpsError: a request failed.
    """
    check_reachable(config)
    admin = config.admin()
    committed = committed_offsets(admin, config, group)
    if topics is not None:
        known = list_topic_partitions(admin, config)
        tps = {TP(t, p) for t in topics for p in resolve_partitions(known, t, None)}
    else:
        tps = set(committed)
        if not tps and not describe_group_raw(admin, config, group).exists:
            raise UnknownGroupError(f"Consumer group '{group}' does not exist.")
    ends = list_offsets(admin, config, {tp: OffsetSpec.latest() for tp in tps})
    parts = [PartitionLag(tp, committed.get(tp), ends[tp][0]) for tp in sorted(tps)]
    return LagSnapshot(group, parts, time.monotonic())


@dataclass(frozen=True)
class LagProgress:
    """Progress of the total lag towards zero since the first snapshot.

    Attributes:
        initial_lag: total lag of the first snapshot.
        lag: total lag now.
        fraction: ``1 - lag / initial_lag`` clamped to [0, 1] (1.0 when both are 0).
        consume_rate: committed offsets per second since the first snapshot.
        drain_rate: lag reduction per second since the first snapshot (consumption
            minus production); ``None`` before two snapshots.
        eta_seconds: ``lag / drain_rate`` when the lag is draining, else ``None``.
    """

    initial_lag: int
    lag: int
    fraction: float
    consume_rate: float | None
    drain_rate: float | None
    eta_seconds: float | None

    @property
    def done(self) -> bool:
        """Return whether the lag is zero."""
        return self.lag == 0


def progress_between(first: LagSnapshot, now: LagSnapshot) -> LagProgress:
    """Return the progress from ``first`` to ``now``."""
    initial, lag = first.total_lag, now.total_lag
    if initial == 0:
        fraction = 1.0 if lag == 0 else 0.0
    else:
        fraction = min(1.0, max(0.0, 1 - lag / initial))
    elapsed = now.at - first.at
    consume = drain = eta = None
    if elapsed > 0:
        consume = (now.total_committed - first.total_committed) / elapsed
        drain = (initial - lag) / elapsed
        if drain > 0:
            eta = lag / drain
    if lag == 0:
        eta = 0.0
    return LagProgress(initial, lag, fraction, consume, drain, eta)


@dataclass
class LagTracker:
    """Keeps the first snapshot and reports progress of later ones against it."""

    first: LagSnapshot | None = None
    last: LagSnapshot | None = None

    def update(self, snapshot: LagSnapshot) -> LagProgress:
        """Record ``snapshot`` and return the progress since the first one."""
        if self.first is None:
            self.first = snapshot
        self.last = snapshot
        return progress_between(self.first, snapshot)


def format_duration(seconds: float | None) -> str:
    """Return ``1h02m03s``-style text, or ``-`` for unknown."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m{sec:02d}s"
    if m:
        return f"{m}m{sec:02d}s"
    return f"{sec}s"


def summary_line(progress: LagProgress) -> str:
    """Return the one-line summary printed under the lag table."""
    rate = "-" if progress.consume_rate is None else f"{progress.consume_rate:.1f}/s"
    return (
        f"TOTAL-LAG {progress.lag}  PROGRESS {progress.fraction * 100:.1f}% "
        f"(from {progress.initial_lag})  RATE {rate}  ETA {format_duration(progress.eta_seconds)}"
    )


# -- backfill monitor (Python API) ------------------------------------------------------


@dataclass
class BackfillProgress:
    """Where a backfill stands against its target offsets.

    Attributes:
        group, topic: what is monitored.
        target: per partition, the offset the group must commit to be done.
        committed: per partition, the group's committed offset now (``None`` if none).
        baseline: per partition, where the group stood when monitoring began.
        complete: every partition has committed at least its target.
        iterations: how many times the offsets were read.
        eta_seconds: time left at the pace seen so far, ``None`` if unknown.
    """

    group: str
    topic: str
    target: dict[int, int]
    committed: dict[int, int | None]
    baseline: dict[int, int]
    complete: bool = False
    iterations: int = 0
    eta_seconds: float | None = None
    history: list[tuple[float, int]] = field(default_factory=list, repr=False)

    @property
    def done_offsets(self) -> int:
        """Return offsets processed since the baseline, counting each partition only up
        to its target."""
        return sum(
            max(0, min(c or 0, self.target[p]) - self.baseline[p])
            for p, c in self.committed.items()
        )

    @property
    def total_offsets(self) -> int:
        """Return offsets to process from the baseline to the target."""
        return sum(max(0, self.target[p] - self.baseline[p]) for p in self.target)

    @property
    def fraction(self) -> float:
        """Return progress from the baseline to the target, 0.0 to 1.0."""
        total = self.total_offsets
        return 1.0 if total == 0 else min(1.0, self.done_offsets / total)


def monitor_backfill_progress(
    config: ClientConfig,
    group: str,
    topic: str,
    *,
    target: int | Mapping[int, int] | None = None,
    interval: float = 10.0,
    timeout: float | None = None,
    max_iterations: int | None = None,
    on_progress: Callable[[BackfillProgress], object] | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> BackfillProgress:
    """Poll ``group``'s committed offsets on ``topic`` until it reaches ``target``.

    ``target`` is the offset each partition must reach: one number for every
    partition, ``{partition: offset}``, or by default the log end offsets when
    monitoring starts (the backlog as it was then). A partition's offset counts
    when the group has committed at least it.

    The loop ends when the target is reached, after ``timeout`` seconds, or after
    ``max_iterations`` looks, whichever comes first; it returns the last progress
    in every case (check ``complete``). ``on_progress`` is called after each look.

    Raises:
        UnknownTopicError: the topic does not exist.
        OpsError: a request failed.
    """
    check_reachable(config)
    admin = config.admin()
    parts = resolve_partitions(list_topic_partitions(admin, config), topic, None)
    tps = [TP(topic, p) for p in parts]
    if target is None:
        ends = list_offsets(admin, config, {tp: OffsetSpec.latest() for tp in tps})
        targets = {tp.partition: ends[tp][0] for tp in tps}
    elif isinstance(target, Mapping):
        targets = {p: int(target[p]) for p in parts if p in target}
    else:
        targets = {p: int(target) for p in parts}
    starts = list_offsets(admin, config, {tp: OffsetSpec.earliest() for tp in tps})
    deadline = None if timeout is None else time.monotonic() + timeout
    progress: BackfillProgress | None = None
    while True:
        committed = committed_offsets(admin, config, group, [TP(topic, p) for p in targets])
        now = {p: committed.get(TP(topic, p)) for p in targets}
        if progress is None:
            baseline = {p: now[p] if now[p] is not None else starts[TP(topic, p)][0]
                        for p in targets}
            progress = BackfillProgress(group, topic, targets, now, baseline)
        progress.committed = now
        progress.iterations += 1
        progress.complete = all((now[p] or 0) >= targets[p] for p in targets)
        t = time.monotonic()
        progress.history.append((t, progress.done_offsets))
        t0, d0 = progress.history[0]
        rate = (progress.done_offsets - d0) / (t - t0) if t > t0 else 0.0
        left = progress.total_offsets - progress.done_offsets
        progress.eta_seconds = 0.0 if progress.complete else (left / rate if rate > 0 else None)
        if on_progress is not None:
            on_progress(progress)
        if progress.complete:
            return progress
        if max_iterations is not None and progress.iterations >= max_iterations:
            return progress
        if deadline is not None and time.monotonic() + interval > deadline:
            return progress
        sleep(interval)
