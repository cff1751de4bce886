"""The log cleaner: compaction of ``cleanup.policy=compact`` logs, off the event loop.

It follows Kafka's ``LogCleaner``, ``LogCleanerManager`` and ``Cleaner``:

1. **Choosing a log** (on the loop): for each compacted log, the dirty range runs
   from the cleaner checkpoint (the end of the last pass) to the first uncleanable
   offset: the active segment, the last stable offset (never past the high
   watermark) and, with ``min.compaction.lag.ms``, the first segment holding
   records younger than that. A log qualifies when its dirty ratio exceeds
   ``min.cleanable.dirty.ratio``, or when ``max.compaction.lag.ms`` passed for its
   oldest dirty segment; the dirtiest log is cleaned first.
2. **Cleaning** (a :class:`CleanJob` run on a worker thread): an offset map of the
   latest offset of every key in the dirty range is built, bounded by
   ``log.cleaner.dedupe.buffer.size`` (when it fills, the pass ends there and the
   next pass continues). Then the log from its start to the end of the map is
   rewritten, group by group of segments that fit ``segment.bytes``, into
   ``.cleaned`` segments, keeping for each key only its latest record; tombstones
   get a delete horizon (KIP-534) and go once it passed; aborted transactions and
   their markers go as in Kafka; the last batch of each producer is kept (empty
   if need be) so that its sequence and epoch survive. Compressed batches are
   rewritten with their codec; CRCs are recomputed.
3. **Swapping** (on the loop): each cleaned segment replaces its group, unless the
   log was truncated meanwhile or the group's segments are gone (retention).

The worker only reads sealed segments through independent read handles and writes
new files; it never touches a log's state, so the loop needs no locks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ...protocol.exceptions import CorruptRecordBatch
from ...protocol.records import ATTR_CONTROL, parse_header
from ..storage.fs import FileHandle, FileSystem
from .batches import BatchInfo, iter_batch_views
from .compaction import (
    BatchFilter,
    CleanedTransactionMetadata,
    FilterStats,
    LastRecord,
    OffsetMap,
    control_type,
    map_key,
    records_section,
    walk_records,
)
from .config import LogConfig, LogManagerConfig
from .index import INT32_MAX, AbortedTxn
from .partition import PartitionLog
from .segment import CLEANED_SUFFIX, LogSegment

_log = logging.getLogger("streamtest.broker.log.cleaner")

TopicPartition = tuple[str, int]
#: Cleaned segments are written in pieces of this size.
WRITE_CHUNK = 1 << 20


class CleaningAborted(Exception):
    """The log changed under the cleaner (truncated, deleted, closed)."""


@dataclass
class LogToClean:
    """A compacted log and its cleanable range (Kafka's ``LogToClean``)."""

    log: PartitionLog
    first_dirty_offset: int
    first_uncleanable_offset: int
    clean_bytes: int
    cleanable_bytes: int
    needs_compaction_now: bool

    @property
    def total_bytes(self) -> int:
        """Return the bytes of the clean and dirty parts."""
        return self.clean_bytes + self.cleanable_bytes

    @property
    def cleanable_ratio(self) -> float:
        """Return the dirty share of the log."""
        return self.cleanable_bytes / self.total_bytes if self.total_bytes else 0.0


def _segments_overlapping(log: PartitionLog, start: int, end: int) -> list[LogSegment]:
    segs = log.segments
    out = []
    for i, seg in enumerate(segs):
        nxt = segs[i + 1].base_offset if i + 1 < len(segs) else None
        if seg.base_offset >= end:
            break
        if nxt is not None and nxt <= start:
            continue
        out.append(seg)
    return out


def cleanable_offsets(
    log: PartitionLog, checkpoint: int | None, now_ms: int
) -> tuple[int, int, bool]:
    """Return ``(first_dirty, first_uncleanable, reset)`` (Kafka's
    ``cleanableOffsets``); ``reset`` says the checkpoint was out of range."""
    start = log.log_start_offset
    dirty = start if checkpoint is None else checkpoint
    reset = False
    if dirty < start or dirty > log.log_end_offset:
        dirty, reset = start, checkpoint is not None
    candidates = [log.last_stable_offset, log.active_segment.base_offset]
    lag = max(log.config.min_compaction_lag_ms, 0)
    if lag > 0:
        for seg in _segments_overlapping(log, dirty, log.active_segment.base_offset):
            if seg is not log.active_segment and seg.largest_timestamp > now_ms - lag:
                candidates.append(seg.base_offset)
                break
    return dirty, max(dirty, min(candidates)), reset


def log_to_clean(log: PartitionLog, checkpoint: int | None, now_ms: int) -> LogToClean:
    """Measure a compacted log's cleanable range."""
    dirty, uncleanable, _ = cleanable_offsets(log, checkpoint, now_ms)
    segs = log.segments
    # The first uncleanable segment: the one holding the first uncleanable offset.
    fu_base = log.active_segment.base_offset
    for i, seg in enumerate(segs[:-1]):
        if segs[i + 1].base_offset > uncleanable:
            fu_base = seg.base_offset
            break
    clean = sum(s.size for s in segs if s.base_offset < dirty)
    cleanable = sum(s.size for s in _segments_overlapping(log, min(dirty, fu_base), fu_base))
    needs_now = False
    max_lag = max(log.config.max_compaction_lag_ms, 0)
    until = now_ms - max_lag
    for seg in _segments_overlapping(log, dirty, log.active_segment.base_offset):
        if seg is log.active_segment:
            continue
        first_ts = seg.rolling_based_timestamp
        if first_ts is not None and 0 < first_ts < until:
            needs_now = True
            break
    return LogToClean(log, dirty, uncleanable, clean, cleanable, needs_now)


@dataclass
class SegmentSpec:
    """What the cleaner needs to know of one segment, as plain data (it crosses
    into the cleaner process)."""

    base_offset: int
    path: str
    size: int
    next_base: int  # the next segment's base offset (the log end for the active one)
    index_entries: int
    time_index_entries: int
    dirty_start_position: int  # where the dirty range starts in it (index lookup)


@dataclass
class CleanSpec:
    """One cleaning pass, planned on the loop: everything the worker reads."""

    directory: str
    sources: list[SegmentSpec]
    active: SegmentSpec
    first_dirty_offset: int
    first_uncleanable_offset: int
    aborted: list[AbortedTxn]
    last_records: dict[int, LastRecord] | None
    now_ms: int
    config: LogConfig
    dedupe_buffer_size: int
    load_factor: float


@dataclass
class CleanResult:
    """What one cleaning pass did."""

    topic: str
    partition: int
    first_dirty_offset: int
    end_offset: int
    segments_cleaned: int = 0
    groups_swapped: int = 0
    stats: FilterStats = field(default_factory=FilterStats)
    map_entries: int = 0
    elapsed_s: float = 0.0
    aborted: bool = False
    #: ``(base offsets of the source segments, base offset of the cleaned one)``.
    groups: list[tuple[list[int], int]] = field(default_factory=list)


def run_clean(
    fs: FileSystem,
    spec: CleanSpec,
    readers: dict[int, FileHandle],
    aborted: Callable[[], bool],
    result: CleanResult,
) -> list[LogSegment]:
    """Do a planned pass (any thread or process): build the offset map, then write
    one ``.cleaned`` segment per group of source segments; return them (closed
    files stay on disk for the swap).

    Raises:
        CleaningAborted: ``aborted()`` turned true.
        CorruptRecordBatch: a batch cannot be decoded.
        OSError: a read or write failed.
    """
    return _Pass(fs, spec, readers, aborted, result).run()


class _Pass:
    def __init__(
        self,
        fs: FileSystem,
        spec: CleanSpec,
        readers: dict[int, FileHandle],
        aborted: Callable[[], bool],
        result: CleanResult,
    ) -> None:
        self.fs = fs
        self.spec = spec
        self.readers = readers
        self.aborted = aborted
        self.result = result
        self.offset_map = OffsetMap(spec.dedupe_buffer_size, spec.load_factor)
        self.cleaned: list[LogSegment] = []

    def _check(self) -> None:
        if self.aborted():
            raise CleaningAborted()

    def run(self) -> list[LogSegment]:
        spec = self.spec
        started = time.perf_counter()
        try:
            last_records = spec.last_records
            if last_records is None:
                last_records = self._scan_last_records()
            self._build_offset_map()
            end = self.offset_map.latest_offset + 1
            self.result.end_offset = end
            self.result.map_entries = len(self.offset_map)
            groups = self._group(end)
            txn = CleanedTransactionMetadata()
            keep_last = {spec.first_uncleanable_offset}
            for group in groups:
                keep_last.add(group[-1].next_base)
            flt = BatchFilter(
                self.offset_map,
                txn,
                last_records,
                spec.now_ms,
                spec.config.delete_retention_ms,
                keep_last,
                self.result.stats,
            )
            for group in groups:
                self._check()
                cleaned = self._clean_group(group, flt, txn)
                self.cleaned.append(cleaned)
                self.result.groups.append(([s.base_offset for s in group], cleaned.base_offset))
                self.result.segments_cleaned += len(group)
        except BaseException:
            for seg in self.cleaned:
                seg.delete_files()
            raise
        finally:
            self.result.elapsed_s = time.perf_counter() - started
        return self.cleaned

    def _scan_last_records(self) -> dict[int, LastRecord]:
        # Kafka asks its producer state; without one, the log itself says where
        # each producer's last batch is (headers only).
        last: dict[int, LastRecord] = {}
        for src in [*self.spec.sources, self.spec.active]:
            self._check()
            for info, view in iter_batch_views(self.readers[src.base_offset], 0, src.size):
                pid = int.from_bytes(view[43:51], "big", signed=True)
                if pid < 0:
                    continue
                epoch = int.from_bytes(view[51:53], "big", signed=True)
                prev = last.get(pid)
                if info.attributes & ATTR_CONTROL:
                    if prev is None or prev.producer_epoch != epoch:
                        last[pid] = LastRecord(None, epoch)
                else:
                    last[pid] = LastRecord(info.last_offset, epoch)
        return last

    def _build_offset_map(self) -> None:
        spec = self.spec
        start = spec.first_dirty_offset
        upper = spec.first_uncleanable_offset
        om = self.offset_map
        txn = CleanedTransactionMetadata()
        txn.add_aborted(
            [t for t in spec.aborted if t.last_offset >= start and t.first_offset < upper]
        )
        for src in spec.sources:
            if src.next_base <= start:
                continue
            if src.base_offset >= upper:
                break
            next_start = min(src.next_base, upper)
            reader = self.readers[src.base_offset]
            for info, view in iter_batch_views(reader, src.dirty_start_position, src.size):
                self._check()
                if info.base_offset >= upper:
                    break
                header = parse_header(view)
                if info.attributes & ATTR_CONTROL:
                    body = records_section(view, header) if header.records_count else b""
                    recs = walk_records(body, header.records_count) if header.records_count else []
                    txn.on_control_batch(header, control_type(body, recs), not recs)
                elif not txn.on_batch(header) and header.records_count:
                    body = records_section(view, header)
                    base = header.base_offset
                    for rec in walk_records(body, header.records_count):
                        offset = base + rec.offset_delta
                        if rec.key is not None and offset >= start:
                            key = map_key(rec.key)
                            if key not in om.map and om.full:
                                return  # full: this pass ends at the last key mapped
                            om.put(key, offset)
                if info.last_offset >= start:
                    om.update_latest_offset(info.last_offset)
            # Offsets compacted away at the end of a segment still count as mapped.
            om.update_latest_offset(next_start - 1)

    def _group(self, end: int) -> list[list[SegmentSpec]]:
        """Group the segments holding offsets below ``end`` into runs that fit one
        segment (Kafka's ``groupSegmentsBySize``)."""
        spec = self.spec
        segs = [s for s in spec.sources if s.base_offset < end]
        max_size = spec.config.segment_bytes
        max_index = spec.config.segment_index_bytes
        groups: list[list[SegmentSpec]] = []
        upper = spec.first_uncleanable_offset
        while segs:
            group = [segs.pop(0)]
            log_size = group[0].size
            index_size = group[0].index_entries * 8
            time_size = group[0].time_index_entries * 12
            while segs:
                nxt = segs[0]
                last_offset = (segs[1].base_offset - 1) if len(segs) > 1 else upper - 1
                if (
                    log_size + nxt.size <= max_size
                    and index_size + nxt.index_entries * 8 <= max_index
                    and time_size + nxt.time_index_entries * 12 <= max_index
                    and (nxt.size == 0 or last_offset - group[0].base_offset <= INT32_MAX)
                ):
                    group.append(segs.pop(0))
                    log_size += nxt.size
                    index_size += nxt.index_entries * 8
                    time_size += nxt.time_index_entries * 12
                else:
                    break
            groups.append(group)
        return groups

    def _clean_group(
        self, group: list[SegmentSpec], flt: BatchFilter, txn: CleanedTransactionMetadata
    ) -> LogSegment:
        spec = self.spec
        first = group[0]
        cleaned = LogSegment.create(
            self.fs, spec.directory, first.base_offset, spec.config, spec.now_ms, 0, CLEANED_SUFFIX
        )
        index_entries: list[AbortedTxn] = []
        txn.cleaned_index = index_entries
        try:
            for src in group:
                txn.add_aborted(
                    [
                        t
                        for t in spec.aborted
                        if t.last_offset >= src.base_offset and t.first_offset < src.next_base
                    ]
                )
                pending = bytearray()
                infos: list[BatchInfo] = []
                for info, view in iter_batch_views(self.readers[src.base_offset], 0, src.size):
                    self._check()
                    out, max_ts, last = flt.filter(view)
                    if out is None:
                        continue
                    size = len(out)
                    infos.append(
                        BatchInfo(len(pending), size, info.base_offset, last, max_ts, 0, 0)
                    )
                    pending += out
                    if len(pending) >= WRITE_CHUNK:
                        cleaned.append_batches(pending, infos)
                        pending = bytearray()
                        infos = []
                if pending:
                    cleaned.append_batches(pending, infos)
            if index_entries:
                cleaned.txn_index.rewrite(index_entries)
            cleaned.seal()
            cleaned.flush()
        except BaseException:
            cleaned.delete_files()
            raise
        finally:
            txn.cleaned_index = None
        return cleaned


class CleanJob:
    """One cleaning pass of one log, planned on the loop: :meth:`run` it on a worker
    thread (or send :attr:`spec` to the cleaner process), then :meth:`swap` on the
    loop (or :meth:`discard` its output)."""

    def __init__(
        self,
        log: PartitionLog,
        to_clean: LogToClean,
        config: LogManagerConfig,
        now_ms: int,
        last_records: dict[int, LastRecord] | None,
    ) -> None:
        self.log = log
        self.truncations = log._truncations
        self.aborted_flag = False
        segs = log.segments
        self.planned: dict[int, LogSegment] = {}
        sources: list[SegmentSpec] = []
        active: SegmentSpec | None = None
        upper = to_clean.first_uncleanable_offset
        for i, seg in enumerate(segs):
            nxt = segs[i + 1].base_offset if i + 1 < len(segs) else log.log_end_offset
            dirty_pos = seg.index.lookup(to_clean.first_dirty_offset)[1]
            item = SegmentSpec(
                seg.base_offset,
                seg.log_path,
                seg.size,
                nxt,
                seg.index.entries,
                seg.time_index.entries,
                dirty_pos if seg.base_offset <= to_clean.first_dirty_offset else 0,
            )
            self.planned[seg.base_offset] = seg
            if seg is log.active_segment:
                # Read only for producers' last batches, up to its current size.
                active = item
                break
            sources.append(item)
        assert active is not None
        self.spec = CleanSpec(
            log.directory,
            sources,
            active,
            to_clean.first_dirty_offset,
            upper,
            log.collect_aborted(segs[0].base_offset, upper),
            last_records,
            now_ms,
            log.config,
            config.cleaner_dedupe_buffer_size,
            config.cleaner_io_buffer_load_factor,
        )
        self.result = CleanResult(
            log.topic, log.index, to_clean.first_dirty_offset, to_clean.first_dirty_offset
        )
        self.cleaned: list[LogSegment] = []

    def abort(self) -> None:
        """Ask the worker to stop at the next batch (the log changed)."""
        self.aborted_flag = True

    def run(self) -> None:
        """Do the pass in this thread, reading through handles taken on the loop.

        Raises:
            CleaningAborted: :meth:`abort` was called.
            CorruptRecordBatch: a batch cannot be decoded.
            OSError: a read or write failed.
        """
        readers = self.open_readers()
        try:
            self.cleaned = run_clean(
                self.log.fs, self.spec, readers, lambda: self.aborted_flag, self.result
            )
        finally:
            for reader in readers.values():
                reader.close()

    def open_readers(self) -> dict[int, FileHandle]:
        """Return read handles (taken on the loop) on every segment the pass reads."""
        return {
            base: self.planned[base].log.reader()
            for base in [*(s.base_offset for s in self.spec.sources), self.spec.active.base_offset]
        }

    def adopt(self, result: CleanResult) -> None:
        """Take the result of a pass run in the cleaner process (on the loop): open
        its cleaned segments.

        Raises:
            OSError: a cleaned segment cannot be opened.
        """
        self.result = result
        log = self.log
        self.cleaned = []
        for _bases, base in result.groups:
            seg = LogSegment.open(
                log.fs, log.directory, base, log.config, self.spec.now_ms, suffix=CLEANED_SUFFIX
            )
            if seg.needs_recovery:
                seg.recover()
                seg.seal()
            seg.sealed = True
            self.cleaned.append(seg)

    def discard(self) -> None:
        """Delete the cleaned segments written so far."""
        for cleaned in self.cleaned:
            cleaned.delete_files()
        for _bases, base in self.result.groups[len(self.cleaned) :]:
            for ext in (".log", ".index", ".timeindex", ".txnindex"):
                path = LogSegment.path_for(self.log.directory, base, ext, CLEANED_SUFFIX)
                try:
                    self.log.fs.remove(path)
                except OSError:
                    pass
        self.cleaned = []

    def swap(self) -> CleanResult:
        """Replace each group with its cleaned segment (on the loop); return the
        result (``aborted`` when the log was truncated or closed meanwhile)."""
        log = self.log
        if log.closed or log._truncations != self.truncations:
            self.discard()
            self.result.aborted = True
            return self.result
        for (bases, _base), cleaned in zip(self.result.groups, self.cleaned, strict=True):
            group = [self.planned[b] for b in bases]
            if log.replace_segments(group, cleaned):
                self.result.groups_swapped += 1
            else:
                cleaned.delete_files()
        self.cleaned = []
        return self.result


class LogCleaner:
    """Chooses compacted logs to clean and runs passes (Kafka's ``LogCleaner`` and
    ``LogCleanerManager``). The log manager drives it with the clock, running
    :meth:`CleanJob.run` on a worker thread; :meth:`clean` does a whole pass inline.

    Attributes:
        checkpoints: first dirty offset of each log (``cleaner-offset-checkpoint``).
        uncleanable: logs whose cleaning failed unexpectedly (not retried).
    """

    def __init__(self, config: LogManagerConfig | None = None) -> None:
        self.config = config or LogManagerConfig()
        self.checkpoints: dict[TopicPartition, int] = {}
        self.uncleanable: set[TopicPartition] = set()
        self.in_progress: dict[TopicPartition, CleanJob] = {}

    def grab_filthiest(self, logs: Iterable[PartitionLog], now_ms: int) -> LogToClean | None:
        """Return the dirtiest cleanable log, or ``None``."""
        best: LogToClean | None = None
        for log in logs:
            tp = (log.topic, log.index)
            if not log.config.compact or log.closed or tp in self.in_progress:
                continue
            if tp in self.uncleanable:
                continue
            ltc = log_to_clean(log, self.checkpoints.get(tp), now_ms)
            if ltc.total_bytes <= 0:
                continue
            if not (
                (ltc.needs_compaction_now and ltc.cleanable_bytes > 0)
                or ltc.cleanable_ratio > log.config.min_cleanable_dirty_ratio
            ):
                continue
            if ltc.first_uncleanable_offset <= ltc.first_dirty_offset:
                continue
            if best is None or ltc.cleanable_ratio > best.cleanable_ratio:
                best = ltc
        return best

    def start(self, ltc: LogToClean, now_ms: int) -> CleanJob:
        """Plan a pass of ``ltc`` (on the loop) and mark the log in progress."""
        log = ltc.log
        provider = log.active_producers
        job = CleanJob(log, ltc, self.config, now_ms, dict(provider()) if provider else None)
        self.in_progress[(log.topic, log.index)] = job
        log.cleaning = True
        return job

    def finish(self, job: CleanJob, error: BaseException | None = None) -> CleanResult | None:
        """Swap a finished job's output in (on the loop) and move the checkpoint;
        a failed job is logged (an unexpected failure marks the log uncleanable)."""
        log = job.log
        tp = (log.topic, log.index)
        self.in_progress.pop(tp, None)
        log.cleaning = False
        if error is not None:
            job.discard()
            # A segment deleted by retention before the pass opened it is not a fault.
            if isinstance(error, (CleaningAborted, FileNotFoundError)) or log.closed:
                return None
            if log._truncations != job.truncations:
                return None
            self.uncleanable.add(tp)
            _log.error(
                "cleaning %s-%d failed; it will not be cleaned again until restart: %r",
                log.topic,
                log.index,
                error,
            )
            return None
        result = job.swap()
        if not result.aborted:
            self.checkpoints[tp] = result.end_offset
            _log.info(
                "cleaned %s-%d [%d, %d): %d segment(s), %d of %d records and %d of %d bytes "
                "kept, in %.3f s",
                log.topic,
                log.index,
                result.first_dirty_offset,
                result.end_offset,
                result.segments_cleaned,
                result.stats.records_retained,
                result.stats.records_read,
                result.stats.bytes_retained,
                result.stats.bytes_read,
                result.elapsed_s,
            )
        return result

    def clean(self, log: PartitionLog, now_ms: int, *, force: bool = False) -> CleanResult | None:
        """Run one whole pass on ``log`` in this thread; return its result, or
        ``None`` when there is nothing to clean (with ``force``: whatever the
        dirty ratio)."""
        tp = (log.topic, log.index)
        ltc = log_to_clean(log, self.checkpoints.get(tp), now_ms)
        if ltc.first_uncleanable_offset <= ltc.first_dirty_offset or ltc.cleanable_bytes == 0:
            return None
        if not force and not (
            (ltc.needs_compaction_now and ltc.cleanable_bytes > 0)
            or ltc.cleanable_ratio > log.config.min_cleanable_dirty_ratio
        ):
            return None
        job = self.start(ltc, now_ms)
        try:
            job.run()
        except (CleaningAborted, CorruptRecordBatch, OSError) as exc:
            self.finish(job, exc)
            raise
        return self.finish(job)

    def forget(self, tp: TopicPartition) -> None:
        """Drop a deleted log's checkpoint and abort its pass."""
        self.checkpoints.pop(tp, None)
        self.uncleanable.discard(tp)
        job = self.in_progress.get(tp)
        if job is not None:
            job.abort()

    def truncated(self, tp: TopicPartition, offset: int) -> None:
        """Lower a log's checkpoint after a truncation (Kafka's
        ``maybeTruncateCheckpoint``) and abort its pass."""
        if self.checkpoints.get(tp, 0) > offset:
            self.checkpoints[tp] = offset
        job = self.in_progress.get(tp)
        if job is not None:
            job.abort()
