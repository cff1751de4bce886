"""Burrow-style consumer status: OK, WARN, STALL, STOP, REWIND per partition and OK,
WARN, ERR per group, computed from a sliding window of offsets, with no thresholds.

Burrow (LinkedIn's lag checker) keeps the last N offsets a group committed for a
partition, with their lag, and applies these rules, in this order
(``core/internal/evaluator/caching.go``):

1. If the lag is zero now, or was zero anywhere in the window: **OK**.
2. If the committed offset went backwards anywhere in the window: **REWIND**.
3. If the consumer stopped committing: **STOP** (Burrow: the time since the last
   commit is longer than the time the window spans).
4. If the committed offset did not move over the window: **STALL** (the consumer
   is alive but stuck).
5. If the offset moved but the lag never went down between two samples: **WARN**
   (the consumer is falling behind).
6. Otherwise **OK**.

The group's status is the worst of its partitions', where STOP, STALL and REWIND
count as **ERR**.

Burrow sees every commit in ``__consumer_offsets``; this module sees what an
exporter polls (OffsetFetch every interval), which cannot tell a consumer that
commits the same offset again from one that stopped committing. So rule 3 is
decided by ownership instead: a partition with lag that no member of the group
owns now (the group is empty, or nobody was assigned the partition) has
**stopped**; one that is owned but whose offset did not move has **stalled**.
Gauge values are Burrow's status codes (``protocol.StatusConstant``), so
dashboards built for Burrow read them unchanged.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


class Status(enum.IntEnum):
    """Burrow's status codes (its ``StatusConstant`` numbering)."""

    NOTFOUND = 0
    OK = 1
    WARN = 2
    ERR = 3
    STOP = 4
    STALL = 5
    REWIND = 6


@dataclass(frozen=True, slots=True)
class OffsetSample:
    """One look at a partition: when, the group's committed offset and its lag."""

    timestamp: float
    offset: int
    lag: int


@dataclass
class PartitionWindow:
    """The last ``size`` samples of one group partition (oldest first)."""

    size: int = 10
    samples: deque[OffsetSample] = field(default_factory=deque)

    def add(self, sample: OffsetSample) -> None:
        """Append a sample, dropping the oldest beyond ``size``."""
        self.samples.append(sample)
        while len(self.samples) > self.size:
            self.samples.popleft()

    @property
    def complete(self) -> bool:
        """Return whether the window holds ``size`` samples."""
        return len(self.samples) >= self.size


def partition_status(
    samples: Sequence[OffsetSample], current_lag: int | None, owned: bool
) -> Status:
    """Return the status of one partition from its window (oldest first).

    Args:
        samples: the window; fewer than two samples is always OK (not enough to
            judge), as is a partition with no commit (``current_lag`` ``None``).
        current_lag: the lag now.
        owned: whether a member of the group owns the partition now.
    """
    if current_lag is None or current_lag <= 0 or len(samples) < 2:
        return Status.OK
    if any(s.lag <= 0 for s in samples):  # rule 1
        return Status.OK
    if any(b.offset < a.offset for a, b in zip(samples, samples[1:], strict=False)):  # rule 2
        return Status.REWIND
    if not owned:  # rule 3: nobody consumes it, and it has lag
        return Status.STOP
    if all(b.offset == a.offset for a, b in zip(samples, samples[1:], strict=False)):  # rule 4
        return Status.STALL
    if all(b.lag >= a.lag for a, b in zip(samples, samples[1:], strict=False)):  # rule 5
        return Status.WARN
    return Status.OK


def group_status(statuses: Iterable[Status]) -> Status:
    """Return the group's status: the worst partition status, STOP, STALL and REWIND
    counting as ERR (Burrow's rule). A group with no partitions is OK."""
    worst = Status.OK
    for s in statuses:
        s = Status.ERR if s > Status.ERR else s
        if s > worst:
            worst = s
    return worst
