"""One log segment: a ``.log`` file of record batches and its indexes.

Kafka's on-disk layout, in the partition's directory::

    00000000000000000000.log        record batches, back to back
    00000000000000000000.index      sparse offset index
    00000000000000000000.timeindex  time index
    00000000000000000000.txnindex   aborted transactions (only when there are some)

The 20-digit number is the segment's base offset. A suffix marks a segment in
transit: ``.cleaned`` (being written by the cleaner), ``.swap`` (about to replace
the segments it was cleaned from), ``.deleted`` (waiting for
``file.delete.delay.ms``).
"""

from __future__ import annotations

import bisect
import logging
import struct
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from ...protocol.control import ControlRecordType
from ...protocol.exceptions import CorruptRecordBatch
from ...protocol.records import ATTR_CONTROL, HEADER_SIZE, LOG_OVERHEAD, crc32c, iter_records
from ..storage.fs import Buffer, FileHandle, FileSystem
from .batches import (
    PREFIX_SIZE,
    BatchInfo,
    boundary_before,
    find_batch,
    iter_infos,
    unpack_info,
)
from .config import LogConfig
from .errors import CorruptIndexError
from .index import INT32_MAX, OffsetIndex, TimeIndex, TransactionIndex

_log = logging.getLogger("streamtest.broker.log")

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
TXN_INDEX_SUFFIX = ".txnindex"
CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
DELETED_SUFFIX = ".deleted"
_EXTENSIONS = (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX)
#: Recovery reads the log in blocks of this size.
RECOVERY_BLOCK = 1 << 20
_CRC_START = 21
_PREFIX = struct.Struct(">qiibIhiqq")


def filename_prefix(offset: int) -> str:
    """Return the 20-digit, zero-padded file name of a base offset (Kafka's)."""
    return f"{offset:020d}"


def offset_from_filename(name: str) -> int | None:
    """Return the base offset a segment file name starts with, or ``None``."""
    stem = name.split(".", 1)[0]
    return int(stem) if len(stem) == 20 and stem.isdigit() else None


@dataclass
class RecoveryResult:
    """What recovering (scanning and checking) a segment found.

    Attributes:
        truncated_bytes: bytes cut from the end (0 when every batch was valid).
        error: why the first bad batch was rejected, or ``None``.
        error_offset: the offset where the valid data ends (the bad batch's place).
        error_position: the byte position of the bad batch.
        dropped_records: records counted in the cut bytes (from the headers that
            could still be parsed: a lower bound when the data is garbage).
        dropped_batches: batches counted in the cut bytes.
        abort_markers: ``(producer_id, offset)`` of every ABORT marker seen.
    """

    truncated_bytes: int = 0
    error: str | None = None
    error_offset: int = -1
    error_position: int = -1
    dropped_records: int = 0
    dropped_batches: int = 0
    abort_markers: list[tuple[int, int]] = field(default_factory=list)


class LogSegment:
    """A segment of a partition log (Kafka's ``LogSegment``).

    Owned by the event loop; a worker thread only reads a sealed segment through
    :meth:`FileHandle.reader`.
    """

    def __init__(
        self,
        fs: FileSystem,
        directory: str,
        base_offset: int,
        config: LogConfig,
        log: FileHandle,
        index: OffsetIndex,
        time_index: TimeIndex,
        txn_index: TransactionIndex,
        created_ms: int,
        roll_jitter_ms: int = 0,
        suffix: str = "",
    ) -> None:
        self.fs = fs
        self.directory = directory
        self.base_offset = base_offset
        self.log = log
        self.index = index
        self.time_index = time_index
        self.txn_index = txn_index
        self.size = log.size
        self.created_ms = created_ms
        self.roll_jitter_ms = roll_jitter_ms
        self.suffix = suffix
        #: Largest batch max timestamp, and the last offset of the batch holding it.
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        self.bytes_since_last_index_entry = 0
        #: The first batch's max timestamp: segment.ms counts from it (loaded lazily).
        self._rolling_based_timestamp: int | None = None
        self._next_offset: int | None = base_offset if self.size == 0 else None
        self.sealed = False
        #: Set by :meth:`open` when the indexes must be rebuilt by :meth:`recover`.
        self.needs_recovery = False
        #: Whether an index is full (the segment must roll).
        self.indexes_full = False
        # The last batches appended, for offset lookups at the tail without a scan:
        # base offsets, last offsets and positions (a few kilobytes at most).
        self._tail_base: array[int] = array("q")
        self._tail_last: array[int] = array("q")
        self._tail_pos: array[int] = array("q")
        self.configure(config)

    def configure(self, config: LogConfig) -> None:
        """Take the roll and index settings of ``config`` (AlterConfigs)."""
        self.index_interval_bytes = config.index_interval_bytes
        self._roll_bytes = config.segment_bytes
        self._roll_ms = config.max_segment_ms - self.roll_jitter_ms

    # -- construction ------------------------------------------------------------------------

    @staticmethod
    def path_for(directory: str, base_offset: int, ext: str, suffix: str = "") -> str:
        """Return the path of one of a segment's files."""
        return f"{directory}/{filename_prefix(base_offset)}{ext}{suffix}"

    @classmethod
    def create(
        cls,
        fs: FileSystem,
        directory: str,
        base_offset: int,
        config: LogConfig,
        now_ms: int,
        roll_jitter_ms: int = 0,
        suffix: str = "",
    ) -> LogSegment:
        """Create an empty segment (replacing stale files of the same name).

        Raises:
            OSError: a file cannot be created.
        """
        p = cls.path_for
        for ext in _EXTENSIONS:
            path = p(directory, base_offset, ext, suffix)
            if fs.exists(path):
                fs.remove(path)
        log = fs.open(p(directory, base_offset, LOG_SUFFIX, suffix))
        seg = cls(
            fs,
            directory,
            base_offset,
            config,
            log,
            OffsetIndex(
                fs,
                p(directory, base_offset, INDEX_SUFFIX, suffix),
                base_offset,
                config.segment_index_bytes,
            ),
            TimeIndex(
                fs,
                p(directory, base_offset, TIME_INDEX_SUFFIX, suffix),
                base_offset,
                config.segment_index_bytes,
            ),
            TransactionIndex(fs, p(directory, base_offset, TXN_INDEX_SUFFIX, suffix)),
            now_ms,
            roll_jitter_ms,
            suffix,
        )
        return seg

    @classmethod
    def open(
        cls,
        fs: FileSystem,
        directory: str,
        base_offset: int,
        config: LogConfig,
        now_ms: int,
        suffix: str = "",
    ) -> LogSegment:
        """Open an existing segment and load its indexes. When they are missing or
        fail their sanity check, ``needs_recovery`` is set: the caller must
        :meth:`recover` the segment (which rebuilds them) before using it.

        Raises:
            OSError: a file cannot be read.
        """
        p = cls.path_for
        log = fs.open(p(directory, base_offset, LOG_SUFFIX, suffix), create=False)
        size = log.size
        rebuild = False
        try:
            index = OffsetIndex.load(
                fs,
                p(directory, base_offset, INDEX_SUFFIX, suffix),
                base_offset,
                config.segment_index_bytes,
                size,
            )
            time_index = TimeIndex.open_lazily(
                fs,
                p(directory, base_offset, TIME_INDEX_SUFFIX, suffix),
                base_offset,
                config.segment_index_bytes,
            )
            txn_index = TransactionIndex.load(
                fs, p(directory, base_offset, TXN_INDEX_SUFFIX, suffix)
            )
            last_ts_offset = time_index.last_entry[1]
            if time_index.entries and not base_offset <= last_ts_offset:
                raise CorruptIndexError("time index offsets precede the base offset")
        except CorruptIndexError as exc:
            if size:
                _log.warning("rebuilding the indexes of %s: %s", log.path, exc)
            rebuild = True
            index = OffsetIndex(
                fs,
                p(directory, base_offset, INDEX_SUFFIX, suffix),
                base_offset,
                config.segment_index_bytes,
            )
            time_index = TimeIndex(
                fs,
                p(directory, base_offset, TIME_INDEX_SUFFIX, suffix),
                base_offset,
                config.segment_index_bytes,
            )
            try:
                txn_index = TransactionIndex.load(
                    fs, p(directory, base_offset, TXN_INDEX_SUFFIX, suffix)
                )
            except CorruptIndexError:
                # The corrupt file is there: emptied (and renamed) with the segment.
                txn_index = TransactionIndex(
                    fs, p(directory, base_offset, TXN_INDEX_SUFFIX, suffix), exists=True
                )
                txn_index.rewrite([])
        seg = cls(
            fs, directory, base_offset, config, log, index, time_index, txn_index, now_ms, 0, suffix
        )
        seg.needs_recovery = rebuild
        if not rebuild:
            seg.max_timestamp, seg.offset_of_max_timestamp = time_index.last_entry
            seg.sealed = True
        return seg

    # -- paths -------------------------------------------------------------------------------

    @property
    def log_path(self) -> str:
        """Return the path of the ``.log`` file."""
        return self.path_for(self.directory, self.base_offset, LOG_SUFFIX, self.suffix)

    def __repr__(self) -> str:
        return f"LogSegment({self.log_path}, size={self.size})"

    # -- appending ---------------------------------------------------------------------------

    def append(
        self,
        data: Buffer,
        base_offset: int,
        last_offset: int,
        max_timestamp: int,
        owned: bool = False,
    ) -> int:
        """Write one batch (already validated) and index it; return its position.

        Write first: when the filesystem raises, nothing about the segment changed.

        Raises:
            OSError: the write failed.
        """
        n = len(data)
        position = self.log.append(data, owned=owned)
        if position == 0:
            self._rolling_based_timestamp = max_timestamp
        if max_timestamp > self.max_timestamp:
            self.max_timestamp = max_timestamp
            self.offset_of_max_timestamp = last_offset
        # Kafka's LogSegment.append: an index entry once index.interval.bytes
        # were appended since the last one, pointing at this batch.
        if self.bytes_since_last_index_entry > self.index_interval_bytes:
            self._index_entry(last_offset, position)
        self.bytes_since_last_index_entry += n
        self.size = position + n
        self._next_offset = last_offset + 1
        tail = self._tail_last
        if len(tail) >= 256:
            del self._tail_base[:128], tail[:128], self._tail_pos[:128]
        self._tail_base.append(base_offset)
        tail.append(last_offset)
        self._tail_pos.append(position)
        return position

    def _index_entry(self, last_offset: int, position: int) -> None:
        self.index.append(last_offset, position)
        self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
        self.bytes_since_last_index_entry = 0
        self.indexes_full = self.index.is_full or self.time_index.is_full

    def append_batches(self, data: Buffer, infos: list[BatchInfo]) -> int:
        """Write several contiguous batches at once (``infos`` give their positions
        relative to ``data``) and index them; return the start position.

        Raises:
            OSError: the write failed; nothing changed.
        """
        start = self.log.append(data)
        if start == 0 and infos:
            self._rolling_based_timestamp = infos[0].max_timestamp
        for info in infos:
            if info.max_timestamp > self.max_timestamp:
                self.max_timestamp = info.max_timestamp
                self.offset_of_max_timestamp = info.last_offset
            if self.bytes_since_last_index_entry > self.index_interval_bytes:
                self._index_entry(info.last_offset, start + info.position)
            self.bytes_since_last_index_entry += info.size
        self.size = start + len(data)
        if infos:
            self._next_offset = infos[-1].last_offset + 1
        self._clear_tail()
        return start

    def _clear_tail(self) -> None:
        del self._tail_base[:], self._tail_last[:], self._tail_pos[:]

    def should_roll(
        self,
        batch_size: int,
        max_timestamp: int,
        last_offset: int,
        now_ms: Callable[[], int],
    ) -> bool:
        """Return whether a batch must go to a new segment (Kafka's ``shouldRoll``):
        it would pass ``segment.bytes``, the segment is older than ``segment.ms``
        (less its jitter) counted from its first batch's timestamp, an index is
        full, or the offset would not fit 4 bytes relative to the base offset.
        An empty segment never rolls."""
        size = self.size
        if size == 0:
            return False
        if size > self._roll_bytes - batch_size or self.indexes_full:
            return True
        if last_offset - self.base_offset > INT32_MAX:
            return True
        first = self._rolling_based_timestamp
        if first is None:
            first = self.rolling_based_timestamp
        if first is not None and first >= 0:
            waited = max_timestamp - first
        else:
            waited = now_ms() - self.created_ms
        return waited > self._roll_ms

    def time_waited_for_roll(self, now_ms: int, timestamp: int) -> int:
        """Return how long the segment has been open for ``segment.ms``: the batch's
        timestamp minus the first batch's, or the wall time since creation when
        batches carry no timestamps (Kafka's ``timeWaitedForRoll``)."""
        first = self.rolling_based_timestamp
        if first is not None and first >= 0:
            return timestamp - first
        return now_ms - self.created_ms

    @property
    def rolling_based_timestamp(self) -> int | None:
        """Return the first batch's max timestamp (``None`` for an empty segment)."""
        if self._rolling_based_timestamp is None and self.size > 0:
            head = self.log.pread(0, PREFIX_SIZE)
            if len(head) == PREFIX_SIZE:
                self._rolling_based_timestamp = unpack_info(head, 0, 0).max_timestamp
        return self._rolling_based_timestamp

    # -- reading -----------------------------------------------------------------------------

    def locate(self, offset: int) -> tuple[int, int, int] | None:
        """Return ``(position, size, base_offset)`` of the first batch whose last
        offset is at or past ``offset``, or ``None`` when the segment ends before
        it. The hot path of reads: the last batches appended are found without
        reading the file.

        Raises:
            CorruptRecordBatch: a header in the way cannot be parsed.
            OSError: a read failed.
        """
        tail = self._tail_last
        if tail and tail[-1] >= offset >= self._tail_base[0]:
            i = bisect.bisect_left(tail, offset)
            pos = self._tail_pos[i]
            end = self._tail_pos[i + 1] if i + 1 < len(tail) else self.size
            return pos, end - pos, self._tail_base[i]
        info = self.translate_offset(offset)
        return None if info is None else (info.position, info.size, info.base_offset)

    def translate_offset(self, offset: int, start_position: int = 0) -> BatchInfo | None:
        """Return the first batch whose last offset is at or past ``offset``, or
        ``None`` when the segment ends before it.

        Raises:
            CorruptRecordBatch: a header in the way cannot be parsed.
            OSError: a read failed.
        """
        _, position = self.index.lookup(offset)
        return find_batch(self.log, max(position, start_position), self.size, offset)

    def batch_boundary_before(self, start: int, limit: int) -> int:
        """Return the end of the last whole batch in ``[start, limit]`` (``start``
        when the first batch alone passes ``limit``)."""
        pos = max(self.index.floor_position(limit), start)
        return boundary_before(self.log, pos, self.size, limit)

    @property
    def next_offset(self) -> int:
        """Return the offset after the segment's last batch (its base offset when
        empty): Kafka's ``readNextOffset``."""
        if self._next_offset is None:
            last_off, position = self.index.lookup(2**63 - 1)
            nxt = self.base_offset
            for info in iter_infos(self.log, position, self.size):
                nxt = info.last_offset + 1
            self._next_offset = nxt
        return self._next_offset

    @property
    def largest_timestamp(self) -> int:
        """Return the largest timestamp in the segment (retention.ms), or the file's
        modification time when its batches carry none (as Kafka does)."""
        if self.max_timestamp >= 0:
            return self.max_timestamp
        try:
            return self.fs.mtime_ms(self.log_path)
        except FileNotFoundError:
            return self.created_ms

    def find_timestamp(self, timestamp: int, start_offset: int) -> tuple[int, int] | None:
        """Return ``(offset, timestamp)`` of the first record at or after
        ``start_offset`` whose timestamp is at least ``timestamp`` (control batches
        skipped), or ``None``. Uses the time index, then decodes one batch.

        Raises:
            CorruptRecordBatch: a batch cannot be decoded.
            OSError: a read failed.
        """
        _, ts_offset = self.time_index.lookup(timestamp)
        _, position = self.index.lookup(max(ts_offset, start_offset))
        for info in iter_infos(self.log, position, self.size):
            if info.max_timestamp < timestamp or info.last_offset < start_offset:
                continue
            if info.attributes & ATTR_CONTROL:
                continue
            batch = self.log.pread(info.position, info.size)
            for rec in iter_records(batch):
                if rec.offset >= start_offset and rec.timestamp >= timestamp:
                    return rec.offset, rec.timestamp
        return None

    def read_views(self, position: int, size: int) -> list[Buffer]:
        """Return ``size`` bytes from ``position`` as buffers that never change."""
        return self.log.read_views(position, size)

    # -- truncation and recovery ----------------------------------------------------------

    def truncate_to(self, offset: int) -> int:
        """Remove the batch holding ``offset`` and everything after it; return the
        bytes removed. The segment's next offset becomes ``offset`` or the removed
        batch's base offset, whichever is lower.

        Raises:
            OSError: the truncation failed.
        """
        info = self.translate_offset(offset)
        if info is None:
            return 0
        cut = min(offset, info.base_offset)
        removed = self.size - info.position
        self._clear_tail()
        self.log.truncate(info.position)
        self.size = info.position
        self.index.truncate_to_position(info.position)
        self.time_index.truncate_to(info.base_offset)
        self.txn_index.truncate_to(info.base_offset)
        self._next_offset = cut
        self.bytes_since_last_index_entry = 0
        if self.size == 0:
            self._rolling_based_timestamp = None
            self.max_timestamp = self.offset_of_max_timestamp = -1
        else:
            self._reload_max_timestamp()
        self.sealed = False
        return removed

    def _reload_max_timestamp(self) -> None:
        # Each time index entry was written with an offset index entry and holds
        # the largest timestamp up to that batch: only the batches after the last
        # offset index entry need to be read (Kafka's readLargestTimestamp).
        ts, off = self.time_index.last_entry
        self.max_timestamp, self.offset_of_max_timestamp = ts, off
        _, position = self.index.lookup(2**63 - 1)
        for info in iter_infos(self.log, position, self.size):
            if info.max_timestamp > self.max_timestamp:
                self.max_timestamp = info.max_timestamp
                self.offset_of_max_timestamp = info.last_offset

    def rebuild_indexes(self) -> None:
        """Rebuild the offset and time indexes from the log's headers (no CRC check).

        Raises:
            CorruptRecordBatch: a header cannot be parsed (recover instead).
            OSError: a read failed.
        """
        self.recover(check_crc=False)

    def recover(
        self,
        check_crc: bool = True,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> RecoveryResult:
        """Scan the whole segment, checking every batch (Kafka's ``LogSegment.recover``).

        The indexes are rebuilt; the log is cut at the first torn or corrupt batch
        (bad header, impossible length, CRC mismatch, offsets going backwards).

        Args:
            check_crc: check each batch's CRC32C (off to only rebuild indexes).
            on_batch: called with ``(partition_leader_epoch, base_offset)`` of each
                valid batch (the leader epoch cache is rebuilt from them).

        Raises:
            OSError: a read or the truncation failed.
        """
        result = RecoveryResult()
        self._clear_tail()
        self.index.reset()
        self.time_index.reset()
        self.max_timestamp = self.offset_of_max_timestamp = -1
        self.bytes_since_last_index_entry = 0
        self._rolling_based_timestamp = None
        size = self.log.size
        valid = 0
        next_offset = self.base_offset
        last_index_position = 0
        interval = self.index_interval_bytes
        unpack = _PREFIX.unpack_from
        # One buffer, read into again and again: no allocation per block.
        block = bytearray(min(RECOVERY_BLOCK, max(size, 1)))
        buf = memoryview(block)[:0]
        buf_pos = 0
        pos = 0
        error: str | None = None
        view = buf
        while pos < size:
            off = pos - buf_pos
            if off + PREFIX_SIZE > len(buf):
                buf = memoryview(block)[: self.log.readinto(pos, block)]
                buf_pos, off = pos, 0
                if len(buf) < PREFIX_SIZE:
                    error = f"a torn batch header ({len(buf)} bytes)"
                    break
            base, length, epoch, magic, crc, attrs, lod, _bts, max_ts = unpack(buf, off)
            batch_size = LOG_OVERHEAD + length
            last = base + lod
            if magic != 2:
                error = f"unsupported record batch magic {magic}"
                break
            if length < HEADER_SIZE - LOG_OVERHEAD or lod < 0:
                error = f"impossible record batch length {length}"
                break
            if pos + batch_size > size:
                error = f"a torn batch ({size - pos} of {batch_size} bytes)"
                break
            if base < next_offset and pos > 0 or base < self.base_offset:
                error = f"offset {base} goes back (expected {next_offset} or later)"
                break
            if last - self.base_offset > INT32_MAX:
                error = f"offset {last} does not fit the segment"
                break
            if off + batch_size <= len(buf):
                view = buf[off : off + batch_size]
            else:
                view = memoryview(self.log.pread(pos, batch_size))
            if check_crc and crc32c(view[_CRC_START:]) != crc:
                error = "a CRC32C mismatch"
                break
            if attrs & ATTR_CONTROL:
                marker = _abort_producer(view)
                if marker is not None:
                    result.abort_markers.append((marker, base))
            if pos == 0:
                self._rolling_based_timestamp = max_ts
            if max_ts > self.max_timestamp:
                self.max_timestamp = max_ts
                self.offset_of_max_timestamp = last
            if pos - last_index_position > interval and not self.indexes_full:
                self._index_entry(last, pos)
                last_index_position = pos
            if on_batch is not None and epoch >= 0:
                on_batch(epoch, base)
            pos += batch_size
            valid = pos
            next_offset = last + 1
        buf = view = memoryview(b"")  # release the block before any truncation
        self.bytes_since_last_index_entry = valid - last_index_position
        if valid < size:
            result.error = error
            result.error_position = valid
            result.error_offset = next_offset
            result.truncated_bytes = size - valid
            result.dropped_records, result.dropped_batches = self._count_after(valid, size)
            self.log.truncate(valid)
        self.size = valid
        self._next_offset = next_offset
        live = [t for t in self.txn_index.entries if t.last_offset < next_offset]
        if len(live) != len(self.txn_index.entries):
            self.txn_index.rewrite(live)
        self.sealed = False
        self.needs_recovery = False
        return result

    def _count_after(self, start: int, size: int) -> tuple[int, int]:
        """Count the records and batches whose headers still parse in ``[start, size)``."""
        records = batches = 0
        pos = start
        while pos + 61 <= size:
            head = self.log.pread(pos, 61)
            try:
                info = unpack_info(head, 0, pos)
            except CorruptRecordBatch:
                break
            count = int.from_bytes(head[57:61], "big", signed=True)
            if count < 0 or info.size <= 0:
                break
            records += count
            batches += 1
            pos += info.size
        return records, batches

    # -- sealing, flushing, files -------------------------------------------------------

    def seal(self) -> None:
        """Finish the segment when it stops being the active one: add the final time
        index entry and write the indexes (Kafka's ``onBecomeInactiveSegment``).

        Raises:
            OSError: an index write failed.
        """
        if self.max_timestamp >= 0:
            self.time_index.maybe_append(
                self.max_timestamp, self.offset_of_max_timestamp, skip_full_check=True
            )
        self.write_indexes()
        self.index.file.close()
        self.time_index.file.close()
        self.time_index.unload()
        self._clear_tail()
        self.sealed = True

    def write_indexes(self) -> None:
        """Write pending index entries (creating the index files if needed).

        Raises:
            OSError: a write failed.
        """
        for idx in (self.index, self.time_index):
            idx.write_pending()
            if idx.file.handle is None and not self.fs.exists(idx.file.path):
                idx.file.append(b"")

    def flush(self) -> None:
        """Make the segment durable: indexes written, then every file fsynced.

        Raises:
            OSError: a write or sync failed.
        """
        self.write_indexes()
        for handle in self.sync_handles():
            try:
                handle.fsync()
            finally:
                handle.close()

    def sync_handles(self) -> list[FileHandle]:
        """Return independent handles on the segment's files, for a flush off the
        loop (close them after the sync). Write the indexes first."""
        handles = [self.log.reader()]
        for f in (self.index.file, self.time_index.file, self.txn_index.file):
            if f.handle is not None:
                handles.append(f.handle.reader())
            elif self.fs.exists(f.path):
                h = self.fs.open(f.path, create=False)
                handles.append(h.reader())
                h.close()
        return handles

    def files(self) -> list[str]:
        """Return the paths of the segment's files that exist."""
        out = []
        for ext in _EXTENSIONS:
            path = self.path_for(self.directory, self.base_offset, ext, self.suffix)
            if self.fs.exists(path):
                out.append(path)
        return out

    def change_suffix(self, suffix: str) -> None:
        """Rename every file of the segment to carry ``suffix`` instead of its own.

        Raises:
            OSError: a rename failed.
        """
        if suffix == self.suffix:
            return
        p, d, b = self.path_for, self.directory, self.base_offset
        new_log = p(d, b, LOG_SUFFIX, suffix)
        self.fs.rename(self.log.path, new_log)
        self.log.path = new_log
        self.index.file.rename(p(d, b, INDEX_SUFFIX, suffix))
        self.time_index.file.rename(p(d, b, TIME_INDEX_SUFFIX, suffix))
        self.txn_index.file.rename(p(d, b, TXN_INDEX_SUFFIX, suffix))
        self.suffix = suffix

    def close(self) -> None:
        """Close every handle (data written so far stays, synced or not)."""
        self.log.close()
        self.index.file.close()
        self.time_index.file.close()
        self.txn_index.file.close()

    def delete_files(self) -> None:
        """Close the segment and remove its files."""
        self.close()
        for path in self.files():
            try:
                self.fs.remove(path)
            except FileNotFoundError:
                pass


def _abort_producer(batch: memoryview) -> int | None:
    """Return the producer id of an ABORT marker batch, else ``None``."""
    try:
        for record in iter_records(batch):
            key = record.key or b""
            if len(key) >= 4 and int.from_bytes(key[2:4], "big") == ControlRecordType.ABORT:
                return int.from_bytes(batch[43:51], "big", signed=True)
            return None
    except CorruptRecordBatch:
        return None
    return None
