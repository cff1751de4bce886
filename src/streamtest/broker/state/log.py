"""One partition's log: stored record batches plus offsets, owned by the event loop.

Batches are kept as the producer sent them (after the base offset is rewritten),
in arrival order, with a parallel list of base offsets for bisecting. Only the
event-loop thread touches a ``PartitionLog``; there are no locks.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from ...protocol.records import BatchHeader, iter_records, parse_header

Buffer = bytes | bytearray | memoryview

#: Called with (partition_log, batch) after every append; the disk engine uses it.
AppendListener = Callable[["PartitionLog", Buffer], None]


@dataclass(slots=True)
class PartitionLog:
    """One replica's log of one topic partition (storage only: leadership, the high
    watermark and transactions live on ``topics.Partition``).

    Attributes:
        topic: the topic name.
        index: the partition index.
        log_start_offset: the first offset still readable (DeleteRecords moves it).
        log_end_offset: the offset the next record will get.
    """

    topic: str
    index: int
    log_start_offset: int = 0
    log_end_offset: int = 0
    batches: list[Buffer] = field(default_factory=list)
    base_offsets: list[int] = field(default_factory=list)
    max_timestamps: list[int] = field(default_factory=list)

    def append(self, batch: Buffer, header: BatchHeader) -> int:
        """Append one batch whose base offset was already set; return that offset."""
        self.batches.append(batch)
        self.base_offsets.append(header.base_offset)
        self.max_timestamps.append(header.max_timestamp)
        self.log_end_offset = header.base_offset + header.last_offset_delta + 1
        return header.base_offset

    def batch_index_for(self, offset: int) -> int:
        """Return the index of the batch that holds ``offset`` (or the next one)."""
        i = bisect.bisect_right(self.base_offsets, offset) - 1
        if i < 0:
            return 0
        header = parse_header(self.batches[i])
        if header.last_offset < offset:
            return i + 1
        return i

    def read(
        self, offset: int, max_bytes: int, at_least_one: bool, end: int | None = None
    ) -> list[Buffer]:
        """Return whole batches from ``offset`` on, up to ``max_bytes`` in total,
        and only batches that start before ``end`` (default: the log end offset;
        read_committed fetches pass the last stable offset).

        ``at_least_one`` returns the first batch even when it alone is larger than
        ``max_bytes``, so that a consumer can always make progress (KIP-74).
        """
        out: list[Buffer] = []
        end = self.log_end_offset if end is None else end
        if offset >= end:
            return out
        i = self.batch_index_for(offset)
        total = 0
        batches = self.batches
        n = bisect.bisect_left(self.base_offsets, end)
        while i < n:
            b = batches[i]
            size = len(b)
            if total + size > max_bytes and (out or not at_least_one):
                break
            out.append(b)
            total += size
            i += 1
        return out

    def truncate_to(self, offset: int) -> None:
        """Drop every batch that holds an offset at or after ``offset`` (follower
        truncation, KIP-101): the log then ends where the first dropped batch began."""
        if offset >= self.log_end_offset:
            return
        i = self.batch_index_for(offset)
        if i >= len(self.batches):
            self.log_end_offset = max(offset, self.log_start_offset)
            return
        new_end = self.base_offsets[i]
        del self.batches[i:]
        del self.base_offsets[i:]
        del self.max_timestamps[i:]
        self.log_end_offset = max(new_end, self.log_start_offset)

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Empty the log and make ``offset`` both its start and end."""
        self.batches.clear()
        self.base_offsets.clear()
        self.max_timestamps.clear()
        self.log_start_offset = self.log_end_offset = offset

    def delete_records_before(self, offset: int) -> None:
        """Advance the log start offset to ``offset`` and drop wholly older batches."""
        self.log_start_offset = max(self.log_start_offset, offset)
        drop = 0
        for i in range(len(self.batches)):
            nxt = self.base_offsets[i + 1] if i + 1 < len(self.batches) else self.log_end_offset
            if nxt <= self.log_start_offset:
                drop = i + 1
            else:
                break
        if drop:
            del self.batches[:drop]
            del self.base_offsets[:drop]
            del self.max_timestamps[:drop]

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """Return ``(offset, timestamp)`` of the first record with a timestamp at or
        after ``timestamp``, or ``None`` when there is none (ListOffsets, KIP-79)."""
        for i, batch in enumerate(self.batches):
            if self.max_timestamps[i] < timestamp:
                continue
            header = parse_header(batch)
            if header.is_control:
                continue
            for rec in iter_records(batch):
                if rec.offset >= self.log_start_offset and rec.timestamp >= timestamp:
                    return rec.offset, rec.timestamp
        return None

    def max_timestamp_offset(self) -> tuple[int, int] | None:
        """Return ``(offset, timestamp)`` of the record with the largest timestamp
        (ListOffsets MAX_TIMESTAMP, KIP-734), or ``None`` for an empty log."""
        best: tuple[int, int] | None = None
        for i, batch in enumerate(self.batches):
            if best is not None and self.max_timestamps[i] <= best[1]:
                continue
            header = parse_header(batch)
            if header.is_control:
                continue
            for rec in iter_records(batch):
                if rec.offset < self.log_start_offset:
                    continue
                if best is None or rec.timestamp > best[1]:
                    best = (rec.offset, rec.timestamp)
        return best
