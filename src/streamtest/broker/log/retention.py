"""Retention: deleting old segments with Kafka's semantics (``UnifiedLog.deleteOldSegments``).

Three rules, applied in this order, each deleting a prefix of whole segments:

* **log start offset breach** (always): a segment whose successor starts at or
  below the log start offset holds nothing readable.
* **retention.bytes** (``cleanup.policy`` includes ``delete``): while the log is
  larger than ``retention.bytes``, the oldest segments go, as long as the log
  stays at or above the limit without them.
* **retention.ms** (``cleanup.policy`` includes ``delete``): a segment whose largest
  timestamp is older than ``retention.ms`` goes. An expired active segment is
  rolled first, so that it can go too.

A segment is deleted only when everything in it is below the high watermark, and
an empty active segment is never deleted. The log start offset moves to the first
remaining segment; deleted files are renamed ``.deleted`` and removed after
``file.delete.delay.ms``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .segment import LogSegment

if TYPE_CHECKING:
    from .partition import PartitionLog

#: A retention rule: ``(segment, next segment or None) -> delete it?``
Predicate = Callable[[LogSegment, "LogSegment | None"], bool]


def deletable_segments(log: PartitionLog, predicate: Predicate) -> list[LogSegment]:
    """Return the longest prefix of segments that ``predicate`` accepts, each also
    wholly below the high watermark; an empty last segment is never included."""
    segs = log.segments
    out: list[LogSegment] = []
    hw = log.high_watermark
    for i, seg in enumerate(segs):
        nxt = segs[i + 1] if i + 1 < len(segs) else None
        upper = nxt.base_offset if nxt is not None else log.log_end_offset
        if nxt is None and seg.size == 0:
            break
        if hw < upper or not predicate(seg, nxt):
            break
        out.append(seg)
    return out


def delete_log_start_offset_breached(log: PartitionLog) -> int:
    """Delete segments wholly below the log start offset; return how many."""
    start = log.log_start_offset
    segs = deletable_segments(log, lambda s, nxt: nxt is not None and nxt.base_offset <= start)
    return log.delete_segments(segs, f"below the log start offset {start}")


def delete_retention_size_breached(log: PartitionLog) -> int:
    """Delete the oldest segments while the log exceeds ``retention.bytes``."""
    limit = log.config.retention_bytes
    size = log.size_bytes
    if limit < 0 or size < limit:
        return 0
    diff = size - limit

    def predicate(seg: LogSegment, _nxt: LogSegment | None) -> bool:
        nonlocal diff
        if diff - seg.size >= 0:
            diff -= seg.size
            return True
        return False

    segs = deletable_segments(log, predicate)
    return log.delete_segments(segs, f"retention.bytes={limit} exceeded (log size {size})")


def delete_retention_ms_breached(log: PartitionLog, now_ms: int) -> int:
    """Delete segments whose largest timestamp is older than ``retention.ms``."""
    retention = log.config.retention_ms
    if retention < 0:
        return 0
    segs = deletable_segments(log, lambda s, _n: now_ms - s.largest_timestamp > retention)
    return log.delete_segments(segs, f"retention.ms={retention} passed")


def delete_old_segments(log: PartitionLog, now_ms: int) -> int:
    """Apply every retention rule to ``log``; return the segments deleted.

    Raises:
        OSError: a file operation failed.
    """
    deleted = delete_log_start_offset_breached(log)
    if log.config.delete:
        deleted += delete_retention_size_breached(log)
        deleted += delete_retention_ms_breached(log, now_ms)
    return deleted
