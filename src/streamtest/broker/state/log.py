"""One partition's log: stored record batches plus offsets, owned by the event loop.

Batches are kept as the producer sent them (after the base offset is rewritten),
in arrival order, with a parallel list of base offsets for bisecting. Only the
event-loop thread touches a ``PartitionLog``; there are no locks.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from ...protocol.records import BatchHeader, Record, iter_records, parse_header

Buffer = bytes | bytearray | memoryview

#: Called with (partition_log, batch) after every append; the disk engine uses it.
AppendListener = Callable[["PartitionLog", Buffer], None]


@dataclass(slots=True)
class PartitionLog:
    """The log of one topic partition.

    Attributes:
        topic: the topic name.
        index: the partition index.
        log_start_offset: the first offset still readable (DeleteRecords moves it).
        log_end_offset: the offset the next record will get (the high watermark:
            with one replica every appended record is immediately committed).
    """

    topic: str
    index: int
    log_start_offset: int = 0
    log_end_offset: int = 0
    batches: list[Buffer] = field(default_factory=list)
    base_offsets: list[int] = field(default_factory=list)
    max_timestamps: list[int] = field(default_factory=list)
    leader_epoch: int = 0
    waiters: set[asyncio.Future[None]] = field(default_factory=set)
    #: First offset of each producer's open transaction (KIP-98), by producer id.
    open_transactions: dict[int, int] = field(default_factory=dict)
    #: Aborted transactions as (producer_id, first_offset, last_offset), in order.
    aborted_transactions: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def last_stable_offset(self) -> int:
        """Return the LSO: the first offset of the oldest open transaction, else the HW."""
        if self.open_transactions:
            return min(self.open_transactions.values())
        return self.log_end_offset

    def aborted_in_range(self, start: int, end: int) -> list[tuple[int, int]]:
        """Return ``(producer_id, first_offset)`` of aborted transactions that overlap
        ``[start, end)``, for read_committed fetches (KIP-98)."""
        return [
            (pid, first)
            for pid, first, last in self.aborted_transactions
            if first < end and last >= start
        ]

    @property
    def high_watermark(self) -> int:
        """Return the high watermark (equal to the log end offset: one replica)."""
        return self.log_end_offset

    def append(self, batch: Buffer, header: BatchHeader) -> int:
        """Append one batch whose base offset was already set; return that offset."""
        self.batches.append(batch)
        self.base_offsets.append(header.base_offset)
        self.max_timestamps.append(header.max_timestamp)
        self.log_end_offset = header.base_offset + header.last_offset_delta + 1
        return header.base_offset

    def wake_waiters(self) -> None:
        """Complete every parked Fetch waiting for data on this partition."""
        if self.waiters:
            for fut in self.waiters:
                if not fut.done():
                    fut.set_result(None)
            self.waiters.clear()

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

    def records(self, read_committed: bool = False) -> list[Record]:
        """Decode every readable record, skipping control batches.

        With ``read_committed``, stop at the last stable offset and leave out the
        records of aborted transactions, as a read_committed consumer sees them
        (KIP-98).
        """
        out: list[Record] = []
        end = self.last_stable_offset if read_committed else self.log_end_offset
        for batch in self.batches:
            header = parse_header(batch)
            if header.base_offset >= end:
                break
            if header.is_control:
                continue
            if read_committed and header.is_transactional and self._aborted(header):
                continue
            out.extend(r for r in iter_records(batch) if self.log_start_offset <= r.offset < end)
        return out

    def _aborted(self, header: BatchHeader) -> bool:
        return any(
            pid == header.producer_id and first <= header.base_offset <= last
            for pid, first, last in self.aborted_transactions
        )

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
