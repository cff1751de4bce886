"""One replica's log of one topic partition (Kafka's ``UnifiedLog`` and ``LocalLog``).

A :class:`PartitionLog` is a list of :class:`LogSegment` in a directory
``<topic>-<partition>`` of a :class:`FileSystem`; the last segment is the active one
and takes every append. It is owned by the broker's event loop (no locks): the log
cleaner only reads sealed segments from its worker thread, and its results are
swapped in on the loop.

The broker's view:

* ``append(batch, header)`` writes a batch whose base offset the broker set. Write
  first, then publish: the log end offset moves only once the filesystem accepted
  the bytes. An ``OSError`` propagates and nothing becomes visible (the broker
  answers ``KAFKA_STORAGE_ERROR``).
* ``read(offset, max_bytes, at_least_one, end)`` returns whole batches (KIP-74) as
  buffers that stay valid whatever happens to the log later.
* ``high_watermark`` and ``first_unstable_offset`` are set by the broker; retention
  and compaction never pass the high watermark, compaction never passes the last
  stable offset.
* Offsets, timestamps and epochs are looked up through the sparse indexes and the
  leader epoch cache, decoding at most one batch's records.
"""

from __future__ import annotations

import bisect
import logging
import random
import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ...protocol.records import (
    ATTR_CONTROL,
    BatchHeader,
    Record,
    iter_records,
    parse_header,
    split_batches,
)
from ..clock import Clock, RealClock
from ..storage.fs import Buffer, FileHandle, FileSystem
from .batches import BatchInfo, iter_batch_views, iter_infos
from .checkpoint import LEADER_EPOCH_CHECKPOINT
from .config import LogConfig
from .epoch import LeaderEpochCache
from .errors import (
    LogClosedError,
    OffsetOutOfRangeError,
    UnexpectedAppendOffsetError,
)
from .index import AbortedTxn
from .loader import load_segments
from .segment import DELETED_SUFFIX, SWAP_SUFFIX, LogSegment
from .snapshots import SnapshotStore

_log = logging.getLogger("streamtest.broker.log")
_EPOCH = struct.Struct(">i")
#: A schedule function: run ``fn`` after ``delay`` seconds (``Clock.call_later``).
Schedule = Callable[[float, Callable[[], Any]], Any]


def log_dir_name(topic: str, partition: int) -> str:
    """Return Kafka's directory name of a partition log: ``<topic>-<partition>``."""
    return f"{topic}-{partition}"


def parse_log_dir_name(name: str) -> tuple[str, int] | None:
    """Return ``(topic, partition)`` of a log directory name, or ``None``."""
    topic, sep, partition = name.rpartition("-")
    if not sep or not topic or not partition.isdigit():
        return None
    return topic, int(partition)


class FlushJob:
    """A flush split so that its ``fsync`` calls can run off the event loop.

    ``run`` may be called on any thread; ``commit`` must run on the loop.
    """

    def __init__(self, log: PartitionLog, target: int, handles: list[FileHandle]) -> None:
        self.log = log
        self.fs = log.fs
        self.directory = log.directory
        self.target = target
        self.handles = handles
        self.generation = log._generation

    def run(self) -> None:
        """Sync every file (each handle is closed, even on failure).

        Raises:
            OSError: a sync failed (the recovery point will not move).
        """
        error: OSError | None = None
        for handle in self.handles:
            try:
                if error is None:
                    handle.fsync()
            except OSError as exc:
                error = exc
            finally:
                handle.close()
        if error is not None:
            raise error
        # New segment files and renames become durable with their directory
        # (Kafka flushes the log directory after a roll too).
        self.fs.sync_dir(self.directory)

    def commit(self) -> None:
        """Move the recovery point (unless the log was truncated meanwhile)."""
        log = self.log
        if log._generation == self.generation and self.target > log._recovery_point:
            log._recovery_point = min(self.target, log._leo)
        log.last_flush_ms = log._clock.now_ms()


class PartitionLog:
    """The log of one replica of one topic partition.

    Build one with :meth:`open` (or through ``LogManager``).

    Attributes:
        topic: the topic name.
        index: the partition index.
        directory: the partition's directory in the filesystem.
        config: the topic's :class:`LogConfig` (replace with :meth:`update_config`).
        epochs: the leader epoch cache.
        first_unstable_offset: the first offset of the oldest open transaction, set
            by the broker (``None`` when none is open); bounds compaction and the
            last stable offset.
        on_roll: called with the new segment's base offset after each roll (the
            broker takes its producer-state snapshot there, as Kafka does).
        flusher: called with ``(log, offset)`` after a roll to flush the previous
            segments; the log manager flushes them off the loop. Without one, rolled
            segments are flushed only by the flush policy or :meth:`flush`.
        last_flush_ms: when the log was last flushed (``flush.ms``).
    """

    def __init__(
        self,
        fs: FileSystem,
        directory: str,
        topic: str,
        index: int,
        config: LogConfig,
        clock: Clock,
        segments: list[LogSegment],
        *,
        log_start_offset: int,
        recovery_point: int,
        epochs: LeaderEpochCache,
        snapshots: SnapshotStore,
        schedule: Schedule | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.fs = fs
        self.directory = directory
        self.topic = topic
        self.index = index
        self.config = config
        self._clock = clock
        self._segments = segments
        self._bases = [s.base_offset for s in segments]
        self._active = segments[-1]
        self._active.sealed = False
        self._leo = self._active.next_offset
        self._log_start = log_start_offset
        self._recovery_point = min(recovery_point, self._leo)
        self._high_watermark = log_start_offset
        self.epochs = epochs
        self.snapshots = snapshots
        self._schedule: Schedule = schedule or clock.call_later
        self._rng = rng or random.Random()
        self._generation = 0
        self._truncations = 0
        self._closed = False
        self._pending_deletes: list[LogSegment] = []
        self.first_unstable_offset: int | None = None
        self.on_roll: Callable[[int], None] | None = None
        self.flusher: Callable[[PartitionLog, int], None] | None = None
        self.last_flush_ms = clock.now_ms()
        #: Set by the cleaner while it works on this log.
        self.cleaning = False
        #: The broker's producer state for the cleaner: ``{producer_id: LastRecord}``
        #: of active producers. Without it the cleaner reads each producer's last
        #: batch from the log (and keeps it for every producer, expired or not).
        self.active_producers: Callable[[], Mapping[int, Any]] | None = None
        #: Called with the new log end offset after a truncation.
        self.on_truncate: Callable[[int], None] | None = None
        #: Runs file removals (a callable) off the loop; the log manager passes its
        #: worker. Without one, files are removed on the caller's thread.
        self.file_deleter: Callable[[Callable[[], None]], Any] | None = None

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        fs: FileSystem,
        topic: str,
        index: int,
        config: LogConfig | None = None,
        clock: Clock | None = None,
        *,
        directory: str | None = None,
        recovery_point: int = 0,
        log_start_offset: int = 0,
        clean_shutdown: bool = False,
        schedule: Schedule | None = None,
        rng: random.Random | None = None,
    ) -> PartitionLog:
        """Open the partition's log, creating its directory when new, and recover it
        (see ``loader``).

        Args:
            fs: the filesystem.
            topic: the topic name.
            index: the partition index.
            config: the log config (Kafka's defaults when ``None``).
            clock: the broker's clock (the real one when ``None``).
            directory: the log directory (``<topic>-<index>`` by default).
            recovery_point: the checkpointed recovery point: segments from the one
                holding it on are scanned with CRC checks.
            log_start_offset: the checkpointed log start offset.
            clean_shutdown: the broker shut down cleanly: nothing is scanned.
            schedule: how to run delayed work (``clock.call_later`` by default).
            rng: the random source of ``segment.jitter.ms``.

        Raises:
            OSError: the directory cannot be read or written.
        """
        config = config or LogConfig()
        clock = clock or RealClock()
        directory = directory or log_dir_name(topic, index)
        rng = rng or random.Random()
        if not fs.exists(directory):
            fs.makedirs(directory)
        epochs = LeaderEpochCache.load(fs, f"{directory}/{LEADER_EPOCH_CHECKPOINT}")

        def on_batch(epoch: int, base_offset: int) -> None:
            if epoch != epochs.latest_epoch:
                epochs.assign(epoch, base_offset)

        now = clock.now_ms()
        loaded = load_segments(
            fs,
            directory,
            config,
            now,
            recovery_point=recovery_point,
            clean_shutdown=clean_shutdown,
            on_recovered_batch=on_batch,
        )
        segments = loaded.segments
        if not segments:
            segments = [
                LogSegment.create(
                    fs, directory, log_start_offset, config, now, config.random_segment_jitter(rng)
                )
            ]
        leo = segments[-1].next_offset
        if log_start_offset > leo:
            # Everything below the checkpointed log start is gone anyway (Kafka
            # truncates fully and starts there).
            for seg in segments:
                seg.delete_files()
            segments = [
                LogSegment.create(
                    fs, directory, log_start_offset, config, now, config.random_segment_jitter(rng)
                )
            ]
            leo = log_start_offset
        log_start = max(log_start_offset, segments[0].base_offset)
        names = fs.listdir(directory)
        snapshots = SnapshotStore.load(fs, directory, names)
        snapshots.delete_after(leo)
        epochs.truncate_from_end(leo)
        epochs.truncate_from_start(log_start)
        log = cls(
            fs,
            directory,
            topic,
            index,
            config,
            clock,
            segments,
            log_start_offset=log_start,
            recovery_point=leo if clean_shutdown else recovery_point,
            epochs=epochs,
            snapshots=snapshots,
            schedule=schedule,
            rng=rng,
        )
        if not loaded.recovered and not clean_shutdown and log._active.size:
            # A trusted active segment: its time index may lag its last batches.
            log._active._reload_max_timestamp()
        if loaded.abort_markers:
            log._rebuild_missing_aborts(loaded.abort_markers)
        return log

    # -- offsets -----------------------------------------------------------------------------

    @property
    def log_start_offset(self) -> int:
        """Return the first offset still readable (DeleteRecords and retention move it)."""
        return self._log_start

    @property
    def log_end_offset(self) -> int:
        """Return the offset the next record will get."""
        return self._leo

    @property
    def high_watermark(self) -> int:
        """Return the high watermark, as last set by the broker (kept within
        ``[log_start_offset, log_end_offset]``)."""
        return self._high_watermark

    @high_watermark.setter
    def high_watermark(self, offset: int) -> None:
        self._high_watermark = min(max(offset, self._log_start), self._leo)

    @property
    def last_stable_offset(self) -> int:
        """Return the LSO: the first unstable offset if set (and below the high
        watermark), else the high watermark."""
        fuo = self.first_unstable_offset
        if fuo is not None and fuo < self._high_watermark:
            return max(fuo, self._log_start)
        return self._high_watermark

    @property
    def recovery_point(self) -> int:
        """Return the offset below which everything is flushed (fsynced)."""
        return self._recovery_point

    @property
    def size_bytes(self) -> int:
        """Return the total size of the segments' ``.log`` files."""
        return sum(s.size for s in self._segments)

    @property
    def segments(self) -> tuple[LogSegment, ...]:
        """Return the segments, oldest first (the last is the active one)."""
        return tuple(self._segments)

    @property
    def active_segment(self) -> LogSegment:
        """Return the segment that takes appends."""
        return self._active

    @property
    def closed(self) -> bool:
        """Return whether the log was closed or deleted."""
        return self._closed

    @property
    def generation(self) -> int:
        """Return a counter bumped by every change that removes or rewrites data
        (truncation, segment deletion or replacement): the cleaner checks it."""
        return self._generation

    @property
    def latest_epoch(self) -> int | None:
        """Return the latest leader epoch in the epoch cache (``None`` when empty)."""
        return self.epochs.latest_epoch

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """Answer OffsetForLeaderEpoch (KIP-101/KIP-279): ``(epoch, end_offset)`` of
        the largest epoch at or below ``epoch``, ``(-1, -1)`` when unknown; the
        latest epoch ends at the log end offset."""
        return self.epochs.end_offset_for(epoch, self._leo)

    # -- appending ---------------------------------------------------------------------------

    def append(
        self,
        batch: Buffer,
        header: BatchHeader,
        leader_epoch: int | None = None,
        *,
        owned: bool = False,
    ) -> int:
        """Append one validated batch whose base offset the broker already set;
        return that base offset.

        Args:
            batch: the batch bytes (written as they are).
            header: its parsed header (``base_offset`` must be the log end offset).
            leader_epoch: when given, stamped into the batch's partitionLeaderEpoch
                (outside the CRC; ``batch`` must then be writable) and recorded in
                the leader epoch cache, as a leader does.
            owned: the caller hands ``batch`` over and never changes it again (a
                request frame it is done with): the in-memory filesystem keeps it
                rather than a copy. Reads then return views of it.

        Raises:
            UnexpectedAppendOffsetError: the base offset is not the log end offset.
            OSError: the filesystem refused the write; nothing became visible.
        """
        if self._closed:
            raise LogClosedError(f"{self.directory} is closed")
        base = header.base_offset
        if base != self._leo:
            raise UnexpectedAppendOffsetError(
                f"batch at offset {base} does not start at the log end offset {self._leo}"
            )
        last = base + header.last_offset_delta
        seg = self._active
        max_ts = header.max_timestamp
        if seg.size and seg.should_roll(len(batch), max_ts, last, self._clock.now_ms):
            seg = self.roll()
        if leader_epoch is not None:
            _EPOCH.pack_into(batch, 12, leader_epoch)  # type: ignore[arg-type]
        seg.append(batch, base, last, max_ts, owned)
        self._leo = last + 1
        if self._leo - self._recovery_point >= self.config.flush_messages:
            self._flush_or_take_back(base)
        if leader_epoch is not None and leader_epoch != self.epochs.latest_epoch:
            self.epochs.assign(leader_epoch, base)
        return base

    def _flush_or_take_back(self, start: int) -> None:
        """Flush as ``flush.messages`` asks; when the sync fails, remove what was
        appended from ``start`` on, so that nothing unsynced is acknowledged."""
        try:
            self.flush()
        except OSError:
            self._segments[self._segment_index(start)].truncate_to(start)
            self._leo = start
            raise

    def append_as_follower(self, records: Buffer) -> tuple[int, int]:
        """Append batches that already carry their offsets (replication); return
        the first and last offsets appended.

        The batches are CRC-checked; their leader epochs go into the epoch cache.
        The first may start after the log end offset (the leader compacted the
        gap away), never before it. Batches are written one at a time, so a
        failure leaves the ones before it appended.

        Raises:
            CorruptRecordBatch: a batch is torn or fails its CRC.
            UnexpectedAppendOffsetError: a batch starts before the log end offset.
            OSError: the filesystem refused a write.
        """
        if self._closed:
            raise LogClosedError(f"{self.directory} is closed")
        batches = split_batches(memoryview(records))
        if not batches:
            return self._leo, self._leo - 1
        first = batches[0][0].base_offset
        for header, view in batches:
            if header.base_offset < self._leo:
                raise UnexpectedAppendOffsetError(
                    f"follower batch at offset {header.base_offset} is below the log end "
                    f"offset {self._leo}"
                )
            last = header.last_offset
            seg = self._active
            if seg.size and seg.should_roll(
                len(view), header.max_timestamp, last, self._clock.now_ms
            ):
                seg = self.roll()
            seg.append(view, header.base_offset, last, header.max_timestamp)
            self._leo = last + 1
            epoch = header.partition_leader_epoch
            if epoch >= 0 and epoch != self.epochs.latest_epoch:
                self.epochs.assign(epoch, header.base_offset)
        if self._leo - self._recovery_point >= self.config.flush_messages:
            try:
                self.flush()
            except OSError:
                self.truncate_to(first)  # nothing unsynced is acknowledged
                raise
        return first, self._leo - 1

    def roll(self) -> LogSegment:
        """Start a new active segment at the log end offset (a no-op when the active
        segment is empty); return the active segment.

        Raises:
            OSError: the new segment's files cannot be created, or the old
                segment's indexes cannot be written.
        """
        old = self._active
        if old.size == 0:
            return old
        now = self._clock.now_ms()
        new = LogSegment.create(
            self.fs,
            self.directory,
            self._leo,
            self.config,
            now,
            self.config.random_segment_jitter(self._rng),
        )
        try:
            old.seal()
        except OSError:
            new.delete_files()
            raise
        self._segments.append(new)
        self._bases.append(new.base_offset)
        self._active = new
        if self.on_roll is not None:
            self.on_roll(new.base_offset)
        if self.flusher is not None:
            self.flusher(self, new.base_offset)
        return new

    # -- reading -----------------------------------------------------------------------------

    def _segment_index(self, offset: int) -> int:
        return max(bisect.bisect_right(self._bases, offset) - 1, 0)

    def read(
        self, offset: int, max_bytes: int, at_least_one: bool, end: int | None = None
    ) -> list[Buffer]:
        """Return whole batches from the one holding ``offset`` on, up to
        ``max_bytes`` in total, only batches starting before ``end`` (default: the
        log end offset; read_committed fetches pass the last stable offset).

        ``at_least_one`` returns the first batch even when it alone exceeds
        ``max_bytes``, so that a consumer always makes progress (KIP-74). Each
        buffer holds one or more whole batches and never changes afterwards.

        Raises:
            OffsetOutOfRangeError: ``offset`` is below the log start offset.
            OSError: a read failed.
        """
        leo = self._leo
        if end is None or end > leo:
            end = leo
        if offset >= end:
            return []
        if offset < self._log_start:
            raise OffsetOutOfRangeError(
                f"offset {offset} is below the log start offset {self._log_start}"
            )
        segs = self._segments
        n = len(segs)
        if n == 1:
            i = 0
        else:
            i = self._segment_index(offset)
        seg = segs[i]
        found = seg.locate(offset)
        while found is None:
            i += 1
            if i >= n:
                return []
            seg = segs[i]
            found = seg.locate(offset)
        start, first_size, first_base = found
        if first_base >= end:
            return []
        out: list[Buffer] = []
        remaining = max_bytes
        while True:
            # Where this segment's part of the read ends: the segment's end, or the
            # first batch starting at or after ``end``.
            if i + 1 == n and end >= leo or i + 1 < n and segs[i + 1].base_offset <= end:
                cut = seg.size
            else:
                e = seg.locate(end)
                if e is None:
                    cut = seg.size
                elif e[2] >= end:
                    cut = e[0]
                else:
                    cut = e[0] + e[1]
            avail = cut - start
            if avail > 0:
                if avail <= remaining:
                    out.extend(seg.read_views(start, avail))
                    remaining -= avail
                else:
                    stop = seg.batch_boundary_before(start, start + remaining)
                    if stop == start:
                        if at_least_one and not out:
                            if first_size < 0:
                                first_size = next(iter_infos(seg.log, start, seg.size)).size
                            out.extend(seg.read_views(start, first_size))
                    else:
                        out.extend(seg.read_views(start, stop - start))
                    return out
            if cut < seg.size or i + 1 >= n or segs[i + 1].base_offset >= end:
                return out
            i += 1
            seg = segs[i]
            start = 0
            first_size = -1

    def iter_batches(
        self, start: int | None = None, end: int | None = None
    ) -> Iterator[tuple[BatchHeader, Buffer]]:
        """Yield ``(header, batch)`` for every batch that overlaps ``[start, end)``
        (default: the whole readable log), for inspection and replay.

        Raises:
            CorruptRecordBatch: a stored batch cannot be parsed.
            OSError: a read failed.
        """
        start = self._log_start if start is None else max(start, self._log_start)
        end = self._leo if end is None else min(end, self._leo)
        if start >= end:
            return
        yield from self._iter_raw(start, end)

    def _iter_raw(self, start: int, end: int) -> Iterator[tuple[BatchHeader, Buffer]]:
        segs = list(self._segments)
        for seg in segs[self._segment_index(start) :]:
            if seg.base_offset >= end:
                return
            first = seg.translate_offset(start)
            if first is None:
                continue
            for info, view in iter_batch_views(seg.log, first.position, seg.size):
                if info.base_offset >= end:
                    return
                yield parse_header(view), view

    def records(self, read_committed: bool = False) -> list[Record]:
        """Decode every readable record, skipping control batches; with
        ``read_committed``, stop at the last stable offset and leave out aborted
        transactions, as a read_committed consumer sees them (KIP-98).

        Raises:
            CorruptRecordBatch: a stored batch cannot be decoded.
        """
        end = self.last_stable_offset if read_committed else self._high_watermark
        aborted = self.collect_aborted(self._log_start, end) if read_committed else []
        out: list[Record] = []
        for header, batch in self.iter_batches(self._log_start, end):
            if header.is_control:
                continue
            if (
                read_committed
                and header.is_transactional
                and any(
                    t.producer_id == header.producer_id
                    and t.first_offset <= header.base_offset <= t.last_offset
                    for t in aborted
                )
            ):
                continue
            out.extend(r for r in iter_records(batch) if self._log_start <= r.offset < end)
        return out

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """Return ``(offset, timestamp)`` of the first record (control batches
        skipped) at or after the log start offset whose timestamp is at least
        ``timestamp``, or ``None`` (ListOffsets, KIP-79). Uses the time index.

        Raises:
            CorruptRecordBatch: a stored batch cannot be decoded.
            OSError: a read failed.
        """
        for seg in list(self._segments):
            if seg.size == 0 or seg.largest_timestamp < timestamp:
                continue
            if seg.next_offset <= self._log_start:
                continue
            found = seg.find_timestamp(timestamp, self._log_start)
            if found is not None:
                return found
        return None

    def max_timestamp_offset(self) -> tuple[int, int] | None:
        """Return ``(offset, timestamp)`` of the record with the largest timestamp
        (ListOffsets MAX_TIMESTAMP, KIP-734), control batches skipped, or ``None``.

        Raises:
            CorruptRecordBatch: a stored batch cannot be decoded.
            OSError: a read failed.
        """
        best_seg: LogSegment | None = None
        for seg in self._segments:
            if seg.size and seg.max_timestamp >= 0 and seg.next_offset > self._log_start:
                if best_seg is None or seg.max_timestamp > best_seg.max_timestamp:
                    best_seg = seg
        if best_seg is not None:
            ts, off = best_seg.max_timestamp, best_seg.offset_of_max_timestamp
            info = best_seg.translate_offset(off)
            if info is not None and info.max_timestamp == ts and not info.attributes & ATTR_CONTROL:
                batch = best_seg.log.pread(info.position, info.size)
                for rec in iter_records(batch):
                    if rec.timestamp == ts and rec.offset >= self._log_start:
                        return rec.offset, ts
        # The largest timestamp is a transaction marker's, or below the log start:
        # scan the headers for the best data batch.
        best: tuple[int, int] | None = None
        best_info: tuple[LogSegment, BatchInfo] | None = None
        for seg in list(self._segments):
            for info in iter_infos(seg.log, 0, seg.size):
                if info.attributes & ATTR_CONTROL or info.last_offset < self._log_start:
                    continue
                if best is None or info.max_timestamp > best[1]:
                    best = (info.last_offset, info.max_timestamp)
                    best_info = (seg, info)
        if best_info is None:
            return None
        seg, info = best_info
        found: tuple[int, int] | None = None
        for rec in iter_records(seg.log.pread(info.position, info.size)):
            if rec.offset >= self._log_start and (found is None or rec.timestamp > found[1]):
                found = (rec.offset, rec.timestamp)
        return found

    # -- transactions ----------------------------------------------------------------------

    def add_aborted(
        self, producer_id: int, first_offset: int, last_offset: int, last_stable_offset: int
    ) -> None:
        """Record an aborted transaction whose ABORT marker is at ``last_offset``
        (already appended) in the transaction index of the marker's segment.

        Recording the same marker twice is a no-op (a replay after recovery).

        Raises:
            OffsetOutOfRangeError: the marker is not in the log.
            OSError: the index write failed.
        """
        if not self._segments[0].base_offset <= last_offset < self._leo:
            raise OffsetOutOfRangeError(f"abort marker offset {last_offset} is not in the log")
        seg = self._segments[self._segment_index(last_offset)]
        for txn in reversed(seg.txn_index.entries):
            if txn.last_offset < last_offset:
                break
            if txn.last_offset == last_offset and txn.producer_id == producer_id:
                return
        txn = AbortedTxn(producer_id, first_offset, last_offset, last_stable_offset)
        entries = seg.txn_index.entries
        if entries and entries[-1].last_offset >= last_offset:
            seg.txn_index.rewrite(sorted([*entries, txn], key=lambda t: t.last_offset))
        else:
            seg.txn_index.append(txn)

    def collect_aborted(self, start: int, upper_bound: int) -> list[AbortedTxn]:
        """Return the aborted transactions overlapping ``[start, upper_bound)``
        (Kafka's ``collectAbortedTransactions``)."""
        out: list[AbortedTxn] = []
        for seg in self._segments[self._segment_index(start) :]:
            found, complete = seg.txn_index.collect(start, upper_bound)
            out.extend(found)
            if complete:
                break
        return out

    def aborted_in_range(self, start: int, end: int) -> list[tuple[int, int]]:
        """Return ``(producer_id, first_offset)`` of the aborted transactions that
        overlap ``[start, end)``, for a read_committed Fetch response (KIP-98)."""
        return [(t.producer_id, t.first_offset) for t in self.collect_aborted(start, end)]

    def _rebuild_missing_aborts(self, markers: list[tuple[int, int]]) -> None:
        """Recreate transaction index entries for ABORT markers found by recovery
        whose entry was lost with unflushed index data."""
        known = {
            (t.producer_id, t.last_offset) for s in self._segments for t in s.txn_index.entries
        }
        missing = sorted((off, pid) for pid, off in markers if (pid, off) not in known)
        if not missing:
            return
        # One forward pass over the headers finds where each transaction began.
        want = {pid for _, pid in missing}
        open_txn: dict[int, int] = {}
        wanted_at = {off: pid for off, pid in missing}
        for header, _batch in self._iter_raw(self._segments[0].base_offset, self._leo):
            pid = header.producer_id
            if header.is_control:
                if header.base_offset in wanted_at and wanted_at[header.base_offset] == pid:
                    first = open_txn.get(pid, header.base_offset)
                    others = [f for p, f in open_txn.items() if p != pid]
                    lso = min([*others, header.base_offset + 1])
                    _log.warning(
                        "rebuilt the lost transaction index entry of producer %d (offsets %d "
                        "to %d) in %s",
                        pid,
                        first,
                        header.base_offset,
                        self.directory,
                    )
                    self.add_aborted(pid, first, header.base_offset, lso)
                open_txn.pop(pid, None)
            elif header.is_transactional and (pid in want or open_txn):
                open_txn.setdefault(pid, header.base_offset)

    # -- producer snapshots ----------------------------------------------------------------

    def write_snapshot(self, offset: int, data: bytes) -> None:
        """Store the broker's producer-state snapshot taken at ``offset``.

        Raises:
            OffsetOutOfRangeError: ``offset`` is past the log end offset.
            OSError: the write failed.
        """
        if offset > self._leo:
            raise OffsetOutOfRangeError(f"snapshot offset {offset} is past the log end {self._leo}")
        self.snapshots.write(offset, data)

    def latest_snapshot(self, at_or_before: int | None = None) -> tuple[int, bytes] | None:
        """Return ``(offset, data)`` of the newest snapshot at or before
        ``at_or_before`` (the log end offset by default), or ``None``: the broker
        replays the batches from that offset on to rebuild producer state.

        Raises:
            OSError: the file cannot be read.
        """
        limit = self._leo if at_or_before is None else min(at_or_before, self._leo)
        return self.snapshots.latest(limit)

    # -- deleting and truncating ----------------------------------------------------------

    def delete_records_before(self, offset: int) -> int:
        """Move the log start offset up to ``offset`` (DeleteRecords) and delete
        every segment wholly below it; return the log start offset.

        Raises:
            OffsetOutOfRangeError: ``offset`` is past the log end offset.
            OSError: a file operation failed.
        """
        if offset > self._leo:
            raise OffsetOutOfRangeError(
                f"cannot delete records before {offset}: the log ends at {self._leo}"
            )
        if offset > self._log_start:
            self._advance_log_start(offset)
        offset = self._log_start
        if offset >= self._leo and self._active.size:
            # The active segment is wholly deleted too: roll so that it can go, and
            # its disk space and memory are freed now.
            self.roll()
        deletable = []
        for i, seg in enumerate(self._segments[:-1]):
            if self._segments[i + 1].base_offset <= offset:
                deletable.append(seg)
            else:
                break
        if deletable:
            self.delete_segments(deletable, "the log start offset moved past them")
        return self._log_start

    def _advance_log_start(self, offset: int) -> None:
        self._log_start = offset
        self.epochs.truncate_from_start(offset)
        if self._high_watermark < offset:
            self._high_watermark = offset
        if self.first_unstable_offset is not None and self.first_unstable_offset < offset:
            self.first_unstable_offset = None

    def delete_segments(self, segments: list[LogSegment], reason: str) -> int:
        """Delete whole segments from the start of the log (retention, DeleteRecords);
        the log start offset moves to the first remaining segment. When every
        segment goes, a new active segment is rolled first. Files are renamed
        ``.deleted`` and removed after ``file.delete.delay.ms``. Returns how many
        segments were deleted.

        Raises:
            ValueError: the segments are not the first segments of the log.
            OSError: a file operation failed.
        """
        if not segments:
            return 0
        if list(self._segments[: len(segments)]) != list(segments):
            raise ValueError("only a prefix of the log's segments can be deleted")
        if len(segments) == len(self._segments):
            self.roll()
            if self._segments[-1] is segments[-1]:
                segments = segments[:-1]  # the active segment was empty: keep it
                if not segments:
                    return 0
        self._generation += 1
        del self._segments[: len(segments)]
        del self._bases[: len(segments)]
        first = self._segments[0].base_offset
        if first > self._log_start:
            self._advance_log_start(first)
        if self._recovery_point < first:
            self._recovery_point = first
        self.snapshots.delete_before(first)
        _log.info(
            "deleting %d segment(s) of %s up to offset %d: %s",
            len(segments),
            self.directory,
            first,
            reason,
        )
        self._discard(segments)
        return len(segments)

    def _discard(self, segments: list[LogSegment]) -> None:
        """Rename segments ``.deleted`` and remove them after file.delete.delay.ms."""
        for seg in segments:
            seg.close()
            try:
                seg.change_suffix(DELETED_SUFFIX)
            except OSError as exc:
                _log.warning("cannot rename %s for deletion: %s", seg.log_path, exc)
        delay = self.config.file_delete_delay_ms

        def unlink() -> None:
            for seg in segments:
                seg.delete_files()

        if delay <= 0:
            self._remove_files(unlink)
            return
        self._pending_deletes.extend(segments)

        def remove() -> None:
            for seg in segments:
                if seg in self._pending_deletes:
                    self._pending_deletes.remove(seg)
            self._remove_files(unlink)

        try:
            self._schedule(delay / 1000, remove)
        except RuntimeError:
            pass  # no running loop (a standalone log): deleted on close()

    def _remove_files(self, unlink: Callable[[], None]) -> None:
        # Unlinking large files can take milliseconds: off the loop when possible.
        if self.file_deleter is not None:
            self.file_deleter(unlink)
        else:
            unlink()

    def truncate_to(self, offset: int) -> bool:
        """Truncate the log so that it ends at ``offset`` (a follower diverged from
        its leader); return whether anything was removed.

        Whole batches go: when ``offset`` falls inside a batch, that batch is
        removed and the log ends at its base offset.

        Raises:
            ValueError: ``offset`` is negative.
            OSError: a file operation failed.
        """
        if offset < 0:
            raise ValueError(f"cannot truncate to a negative offset ({offset})")
        if offset >= self._leo:
            return False
        if offset < self._segments[0].base_offset:
            self.truncate_fully_and_start_at(offset)
            return True
        self._generation += 1
        self._truncations += 1
        i = self._segment_index(offset)
        dropped = self._segments[i + 1 :]
        del self._segments[i + 1 :]
        del self._bases[i + 1 :]
        seg = self._segments[i]
        seg.truncate_to(offset)
        if seg.next_offset > offset:
            seg._next_offset = offset
        self._active = seg
        self._leo = seg.next_offset
        if dropped:
            self._discard(dropped)
        self.epochs.truncate_from_end(self._leo)
        if self._log_start > self._leo:
            self._log_start = self._leo
        self._high_watermark = min(self._high_watermark, self._leo)
        self._recovery_point = min(self._recovery_point, self._leo)
        if self.first_unstable_offset is not None and self.first_unstable_offset >= self._leo:
            self.first_unstable_offset = None
        self.snapshots.delete_after(self._leo)
        if self.on_truncate is not None:
            self.on_truncate(self._leo)
        return True

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Delete every segment and start an empty log at ``offset`` (a follower
        far behind its leader's log start).

        Raises:
            OSError: a file operation failed.
        """
        self._generation += 1
        self._truncations += 1
        old = list(self._segments)
        if offset in self._bases:
            # A segment with that base exists: empty it and keep it (its files
            # would otherwise be replaced while renamed for deletion).
            new = self._segments[self._bases.index(offset)]
            old.remove(new)
            new.truncate_to(new.base_offset)
            new._next_offset = offset
        else:
            new = LogSegment.create(
                self.fs,
                self.directory,
                offset,
                self.config,
                self._clock.now_ms(),
                self.config.random_segment_jitter(self._rng),
            )
        self._segments = [new]
        self._bases = [offset]
        self._active = new
        self._discard(old)
        self._leo = self._log_start = self._high_watermark = self._recovery_point = offset
        self.first_unstable_offset = None
        self.epochs.clear()
        self.snapshots.delete_all()
        if self.on_truncate is not None:
            self.on_truncate(offset)

    # -- retention and cleaning hooks ---------------------------------------------------

    def replace_segments(self, old: list[LogSegment], new: LogSegment) -> bool:
        """Swap a cleaned segment in for the segments it was cleaned from (Kafka's
        ``replaceSegments``); return ``False`` (changing nothing) when those are no
        longer contiguous segments of the log.

        The cleaned files are renamed ``.swap``, the old segments ``.deleted``, then
        the swap files take their final names: a crash in between is completed by
        the loader.

        Raises:
            OSError: a rename failed.
        """
        if not old or self._closed:
            return False
        i = next((k for k, seg in enumerate(self._segments) if seg is old[0]), -1)
        window = self._segments[i : i + len(old)] if i >= 0 else []
        if len(window) != len(old) or any(a is not b for a, b in zip(window, old, strict=True)):
            return False
        if any(seg is self._active for seg in old) or new.base_offset != old[0].base_offset:
            return False
        new.change_suffix(SWAP_SUFFIX)
        self._generation += 1
        self._segments[i : i + len(old)] = [new]
        self._bases[i : i + len(old)] = [new.base_offset]
        self._discard(old)
        new.change_suffix("")
        new.sealed = True
        return True

    def delete_old_segments(self, now_ms: int | None = None) -> int:
        """Apply retention now (see ``retention``); return the segments deleted.

        Raises:
            OSError: a file operation failed.
        """
        from .retention import delete_old_segments

        return delete_old_segments(self, self._clock.now_ms() if now_ms is None else now_ms)

    def update_config(self, config: LogConfig) -> None:
        """Use a new config from now on (AlterConfigs): new segments and rolls follow it."""
        self.config = config
        self._active.configure(config)

    # -- flushing ------------------------------------------------------------------------

    def prepare_flush(self, up_to: int | None = None) -> FlushJob | None:
        """Write pending index entries and return a job that syncs the segments
        holding offsets below ``up_to`` (the log end offset by default), or
        ``None`` when they are already flushed.

        Raises:
            OSError: an index write failed.
        """
        target = self._leo if up_to is None else min(up_to, self._leo)
        if target <= self._recovery_point:
            return None
        handles: list[FileHandle] = []
        segs = self._segments
        start = self._segment_index(self._recovery_point)
        for seg in segs[start:]:
            if seg.base_offset >= target:
                break
            seg.write_indexes()
            handles.extend(seg.sync_handles())
        return FlushJob(self, target, handles)

    def flush(self, up_to: int | None = None) -> None:
        """Fsync every segment up to ``up_to`` (the log end offset by default) and
        move the recovery point there.

        Raises:
            OSError: a write or sync failed; the recovery point did not move.
        """
        job = self.prepare_flush(up_to)
        if job is not None:
            job.run()
            job.commit()

    @property
    def unflushed_messages(self) -> int:
        """Return how many offsets lie past the recovery point (``flush.messages``)."""
        return self._leo - self._recovery_point

    # -- closing -----------------------------------------------------------------------------

    def close(self, sync: bool = False) -> None:
        """Write the indexes (with the active segment's final time index entry) and
        close every file; with ``sync``, fsync the indexes too (a clean shutdown,
        after :meth:`flush`). Segments waiting for deletion are deleted now."""
        if self._closed:
            return
        for seg in self._segments:
            try:
                if seg is self._active and seg.max_timestamp >= 0:
                    seg.time_index.maybe_append(
                        seg.max_timestamp, seg.offset_of_max_timestamp, skip_full_check=True
                    )
                seg.write_indexes()
                if sync and seg is self._active:
                    seg.flush()
            except OSError as exc:
                _log.warning("cannot write the indexes of %s: %s", seg.log_path, exc)
            seg.close()
        for seg in self._pending_deletes:
            seg.delete_files()
        self._pending_deletes.clear()
        self._closed = True

    def abandon(self) -> None:
        """Drop the log without writing anything (the process "died")."""
        for seg in self._segments:
            try:
                seg.close()
            except OSError:
                pass
        self._closed = True

    def delete(self) -> None:
        """Close the log and remove its directory."""
        self.abandon()
        self._generation += 1
        self.fs.rmtree(self.directory)

    def __repr__(self) -> str:
        return (
            f"PartitionLog({self.topic}-{self.index}, start={self._log_start}, "
            f"end={self._leo}, segments={len(self._segments)})"
        )
