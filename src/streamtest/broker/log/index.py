"""A segment's indexes: sparse offset index, time index and transaction index.

File formats are Kafka's (``OffsetIndex``, ``TimeIndex``, ``TransactionIndex``):

* ``.index``: 8-byte entries, a 4-byte offset relative to the segment's base offset
  and the 4-byte position of a batch in the ``.log`` file, big-endian.
* ``.timeindex``: 12-byte entries, an 8-byte timestamp and a 4-byte relative
  offset; a new entry only when the segment's largest timestamp grew.
* ``.txnindex``: 34-byte entries of aborted transactions, version (2 bytes, 0),
  producer id, first offset, last offset, last stable offset (8 bytes each).

Kafka memory-maps its indexes; here the offset index lives in two ``array`` objects
(8 bytes per entry, one entry per ``index.interval.bytes`` of log: about 2 MB per GB)
and new entries are written to the file when the segment is flushed or sealed,
not on every append. That is safe because indexes are derived data: an index of a
segment after the recovery point is rebuilt by recovery, and a flush writes the
index before the recovery point passes the segment. The time index of a sealed
segment is loaded only when a timestamp lookup needs it.
"""

from __future__ import annotations

import bisect
import struct
import sys
from array import array
from typing import NamedTuple

from ..storage.fs import FileHandle, FileSystem
from .errors import CorruptIndexError, InvalidOffsetError

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
_TXN_ENTRY = struct.Struct(">hqqqq")
_LITTLE = sys.byteorder == "little"
INT32_MAX = 2**31 - 1


def _be_int32_array(data: bytes | memoryview) -> array[int]:
    arr = array("i")
    arr.frombytes(data)
    if _LITTLE:
        arr.byteswap()
    return arr


def _is_sorted(arr: array[int]) -> bool:
    # ``sorted`` runs at C speed and in linear time on sorted input.
    return len(arr) < 2 or arr == array(arr.typecode, sorted(arr))


class _IndexFile:
    """An index's file: entries already written, and a handle while it grows."""

    def __init__(self, fs: FileSystem, path: str, exists: bool | None = None) -> None:
        self.fs = fs
        self.path = path
        self.handle: FileHandle | None = None
        #: Whether the file exists (``None``: unknown), to spare a stat per rename.
        self.exists = exists

    def append(self, data: bytes) -> None:
        if self.handle is None:
            self.handle = self.fs.open(self.path)
            self.exists = True
        self.handle.append(data)

    def truncate(self, size: int) -> None:
        if self.handle is None:
            if not self.fs.exists(self.path):
                return
            self.handle = self.fs.open(self.path)
        self.handle.truncate(size)

    def fsync(self) -> None:
        if self.handle is not None:
            self.handle.fsync()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def rename(self, path: str) -> None:
        """Rename the file if it exists; follow the new path either way."""
        if self.exists is not False:
            try:
                self.fs.rename(self.path, path)
                self.exists = True
            except FileNotFoundError:
                self.exists = False
        self.path = path

    def delete(self) -> None:
        self.close()
        if self.exists is not False:
            try:
                self.fs.remove(self.path)
            except FileNotFoundError:
                pass
        self.exists = False


class OffsetIndex:
    """The sparse offset index of one segment (Kafka's ``OffsetIndex``).

    Args:
        fs: the filesystem.
        path: the ``.index`` file.
        base_offset: the segment's base offset.
        max_index_size: ``segment.index.bytes``; the index is full at
            ``max_index_size // 8`` entries (the segment then rolls).
    """

    ENTRY_SIZE = 8

    def __init__(self, fs: FileSystem, path: str, base_offset: int, max_index_size: int) -> None:
        self.file = _IndexFile(fs, path)
        self.base_offset = base_offset
        self.max_entries = max(max_index_size // self.ENTRY_SIZE, 1)
        self._rel: array[int] = array("i")
        self._pos: array[int] = array("i")
        self._written = 0

    @classmethod
    def load(
        cls,
        fs: FileSystem,
        path: str,
        base_offset: int,
        max_index_size: int,
        log_size: int,
    ) -> OffsetIndex:
        """Read an index file and check it against its segment's log size.

        Raises:
            CorruptIndexError: the file is missing, torn or inconsistent.
            OSError: it cannot be read.
        """
        index = cls(fs, path, base_offset, max_index_size)
        if not fs.exists(path):
            raise CorruptIndexError(f"{path} is missing")
        data = fs.read_bytes(path)
        if len(data) % cls.ENTRY_SIZE:
            raise CorruptIndexError(f"{path} has a torn entry ({len(data)} bytes)")
        both = _be_int32_array(data)
        rel, pos = both[0::2], both[1::2]
        if rel and (rel[0] < 0 or not _is_sorted(rel) or not _is_sorted(pos)):
            raise CorruptIndexError(f"{path} has entries out of order")
        if pos and pos[-1] >= log_size:
            raise CorruptIndexError(f"{path} points past the end of its log ({pos[-1]})")
        index._rel, index._pos = rel, pos
        index._written = len(rel)
        return index

    @property
    def entries(self) -> int:
        """Return the number of entries."""
        return len(self._rel)

    @property
    def is_full(self) -> bool:
        """Return whether no entry can be added (the segment must roll)."""
        return len(self._rel) >= self.max_entries

    @property
    def last_offset(self) -> int:
        """Return the offset of the last entry, or the base offset when empty."""
        return self.base_offset + self._rel[-1] if self._rel else self.base_offset

    def append(self, offset: int, position: int) -> None:
        """Add an entry mapping ``offset`` to the batch at ``position``.

        Raises:
            InvalidOffsetError: ``offset`` is not above the last entry, does not fit
                in 4 bytes relative to the base offset, or the index is full.
        """
        rel = offset - self.base_offset
        if self._rel and rel <= self._rel[-1]:
            raise InvalidOffsetError(
                f"index entry {offset} is not after the last entry {self.last_offset}"
            )
        if not 0 <= rel <= INT32_MAX:
            raise InvalidOffsetError(f"offset {offset} does not fit the segment {self.base_offset}")
        if len(self._rel) >= self.max_entries:
            raise InvalidOffsetError(f"{self.file.path} is full")
        self._rel.append(rel)
        self._pos.append(position)

    def lookup(self, offset: int) -> tuple[int, int]:
        """Return ``(offset, position)`` of the last entry at or before ``offset``,
        or ``(base_offset, 0)`` when there is none."""
        i = bisect.bisect_right(self._rel, offset - self.base_offset) - 1
        if i < 0:
            return self.base_offset, 0
        return self.base_offset + self._rel[i], self._pos[i]

    def floor_position(self, position: int) -> int:
        """Return the largest indexed batch position at or before ``position`` (0 if none)."""
        i = bisect.bisect_right(self._pos, position) - 1
        return self._pos[i] if i >= 0 else 0

    def truncate_to(self, offset: int) -> None:
        """Remove every entry for ``offset`` or later (Kafka's ``truncateTo``)."""
        keep = bisect.bisect_left(self._rel, offset - self.base_offset)
        self._truncate_entries(keep)

    def truncate_to_position(self, position: int) -> None:
        """Remove every entry pointing at ``position`` or later (log truncation)."""
        self._truncate_entries(bisect.bisect_left(self._pos, position))

    def _truncate_entries(self, keep: int) -> None:
        if keep >= len(self._rel):
            return
        del self._rel[keep:]
        del self._pos[keep:]
        if self._written > keep:
            self.file.truncate(keep * self.ENTRY_SIZE)
            self._written = keep

    def reset(self) -> None:
        """Remove every entry."""
        self._truncate_entries(0)
        self.file.truncate(0)

    def write_pending(self) -> None:
        """Write entries added since the last write to the file.

        Raises:
            OSError: the write failed (the entries stay pending).
        """
        n = len(self._rel)
        if self._written >= n:
            return
        both = array("i", [0]) * (2 * (n - self._written))
        both[0::2] = self._rel[self._written :]
        both[1::2] = self._pos[self._written :]
        if _LITTLE:
            both.byteswap()
        self.file.append(both.tobytes())
        self._written = n


class TimeIndex:
    """The time index of one segment (Kafka's ``TimeIndex``).

    Entries map the largest timestamp seen so far to the offset of the batch that
    holds it; a lookup finds where to start searching for a timestamp.
    """

    ENTRY_SIZE = 12

    def __init__(self, fs: FileSystem, path: str, base_offset: int, max_index_size: int) -> None:
        self.file = _IndexFile(fs, path)
        self.base_offset = base_offset
        self.max_entries = max(max_index_size // self.ENTRY_SIZE, 2)
        self._ts: list[int] = []
        self._rel: list[int] = []
        self._written = 0
        self._loaded = True
        self._last: tuple[int, int] = (-1, base_offset)

    @classmethod
    def open_lazily(
        cls, fs: FileSystem, path: str, base_offset: int, max_index_size: int
    ) -> TimeIndex:
        """Return the time index of a sealed segment, reading only its last entry now.

        Raises:
            CorruptIndexError: the file is missing or torn.
            OSError: it cannot be read.
        """
        index = cls(fs, path, base_offset, max_index_size)
        if not fs.exists(path):
            raise CorruptIndexError(f"{path} is missing")
        size = fs.file_size(path)
        if size % cls.ENTRY_SIZE:
            raise CorruptIndexError(f"{path} has a torn entry ({size} bytes)")
        index._loaded = False
        index._written = size // cls.ENTRY_SIZE
        if size:
            handle = fs.open(path, create=False)
            try:
                ts, rel = _TIME_ENTRY.unpack(bytes(handle.pread(size - cls.ENTRY_SIZE, 12)))
            finally:
                handle.close()
            if rel < 0:
                raise CorruptIndexError(f"{path} has a negative offset")
            index._last = (ts, base_offset + rel)
        return index

    def _load(self) -> None:
        if self._loaded:
            return
        data = self.file.fs.read_bytes(self.file.path)
        n = self._written
        ts: list[int] = []
        rel: list[int] = []
        for t, r in _TIME_ENTRY.iter_unpack(memoryview(data)[: n * self.ENTRY_SIZE]):
            ts.append(t)
            rel.append(r)
        self._ts, self._rel = ts, rel
        self._loaded = True

    @property
    def entries(self) -> int:
        """Return the number of entries."""
        return len(self._ts) if self._loaded else self._written

    @property
    def is_full(self) -> bool:
        """Return whether the index is full. One slot stays free for the entry
        written when the segment is sealed, as in Kafka."""
        return self.entries >= self.max_entries - 1

    @property
    def last_entry(self) -> tuple[int, int]:
        """Return ``(timestamp, offset)`` of the last entry, or ``(-1, base_offset)``."""
        return self._last

    def maybe_append(self, timestamp: int, offset: int, skip_full_check: bool = False) -> None:
        """Add ``(timestamp, offset)`` if ``timestamp`` is larger than the last entry's.

        Raises:
            InvalidOffsetError: the index is full, or the offset goes backwards.
        """
        if timestamp <= self._last[0]:
            return
        if offset < self._last[1] and self.entries:
            raise InvalidOffsetError(f"time index offset {offset} goes back from {self._last[1]}")
        if not skip_full_check and self.is_full:
            raise InvalidOffsetError(f"{self.file.path} is full")
        self._load()
        self._ts.append(timestamp)
        self._rel.append(offset - self.base_offset)
        self._last = (timestamp, offset)

    def lookup(self, timestamp: int) -> tuple[int, int]:
        """Return ``(timestamp, offset)`` of the last entry with a timestamp at or
        below ``timestamp``, or ``(-1, base_offset)``."""
        self._load()
        i = bisect.bisect_right(self._ts, timestamp) - 1
        if i < 0:
            return -1, self.base_offset
        return self._ts[i], self.base_offset + self._rel[i]

    def truncate_to(self, offset: int) -> None:
        """Remove every entry for ``offset`` or later."""
        self._load()
        keep = bisect.bisect_left(self._rel, offset - self.base_offset)
        if keep >= len(self._rel):
            return
        del self._ts[keep:]
        del self._rel[keep:]
        if self._written > keep:
            self.file.truncate(keep * self.ENTRY_SIZE)
            self._written = keep
        self._last = (
            (self._ts[-1], self.base_offset + self._rel[-1]) if self._ts else (-1, self.base_offset)
        )

    def reset(self) -> None:
        """Remove every entry."""
        self._ts, self._rel = [], []
        self._loaded = True
        self._written = 0
        self._last = (-1, self.base_offset)
        self.file.truncate(0)

    def write_pending(self) -> None:
        """Write entries added since the last write to the file.

        Raises:
            OSError: the write failed.
        """
        if not self._loaded or self._written >= len(self._ts):
            return
        out = bytearray()
        for i in range(self._written, len(self._ts)):
            out += _TIME_ENTRY.pack(self._ts[i], self._rel[i])
        self.file.append(bytes(out))
        self._written = len(self._ts)

    def unload(self) -> None:
        """Drop the in-memory entries of a sealed, written index (they are re-read
        on the next lookup)."""
        if self._loaded and self._written == len(self._ts):
            self._ts, self._rel = [], []
            self._loaded = False


class AbortedTxn(NamedTuple):
    """One aborted transaction (Kafka's ``AbortedTxn``).

    Attributes:
        producer_id: the producer that aborted.
        first_offset: the offset of the transaction's first batch.
        last_offset: the offset of its ABORT marker.
        last_stable_offset: the partition's LSO once the abort completed; later
            aborted transactions all start at or after it.
    """

    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


class TransactionIndex:
    """The aborted transactions whose ABORT marker lies in one segment.

    The file is created on the first entry; entries are written at once (they are
    rare and needed by read_committed fetches).
    """

    ENTRY_SIZE = _TXN_ENTRY.size

    def __init__(self, fs: FileSystem, path: str, exists: bool | None = False) -> None:
        self.file = _IndexFile(fs, path, exists)
        self.entries: list[AbortedTxn] = []

    @classmethod
    def load(cls, fs: FileSystem, path: str) -> TransactionIndex:
        """Read a ``.txnindex`` file (a missing file is an empty index).

        Raises:
            CorruptIndexError: a torn entry or an unknown version.
            OSError: it cannot be read.
        """
        index = cls(fs, path)
        if not fs.exists(path):
            return index
        index.file.exists = True
        data = fs.read_bytes(path)
        if len(data) % cls.ENTRY_SIZE:
            raise CorruptIndexError(f"{path} has a torn entry ({len(data)} bytes)")
        for version, pid, first, last, lso in _TXN_ENTRY.iter_unpack(data):
            if version != 0:
                raise CorruptIndexError(f"{path} has an entry of unknown version {version}")
            index.entries.append(AbortedTxn(pid, first, last, lso))
        return index

    def append(self, txn: AbortedTxn) -> None:
        """Add an aborted transaction; its marker must follow the previous one's.

        Raises:
            InvalidOffsetError: the last offset does not increase.
            OSError: the write failed (the entry is not added).
        """
        if self.entries and self.entries[-1].last_offset >= txn.last_offset:
            raise InvalidOffsetError(
                f"aborted transaction ending at {txn.last_offset} is not after the last "
                f"one ({self.entries[-1].last_offset})"
            )
        self.file.append(_TXN_ENTRY.pack(0, *txn))
        self.entries.append(txn)

    def rewrite(self, entries: list[AbortedTxn]) -> None:
        """Replace every entry (recovery and cleaning).

        Raises:
            OSError: the write failed.
        """
        self.file.truncate(0)
        if entries:
            self.file.append(b"".join(_TXN_ENTRY.pack(0, *t) for t in entries))
        self.entries = list(entries)

    def truncate_to(self, offset: int) -> None:
        """Remove the transactions whose marker is at ``offset`` or later."""
        keep = [t for t in self.entries if t.last_offset < offset]
        if len(keep) != len(self.entries):
            self.rewrite(keep)

    def collect(self, fetch_offset: int, upper_bound: int) -> tuple[list[AbortedTxn], bool]:
        """Return the transactions overlapping ``[fetch_offset, upper_bound)``, and
        whether the search is complete: an entry whose LSO passed ``upper_bound``
        proves no later segment holds an overlapping one (Kafka's
        ``collectAbortedTxns``)."""
        out: list[AbortedTxn] = []
        for txn in self.entries:
            if txn.last_offset >= fetch_offset and txn.first_offset < upper_bound:
                out.append(txn)
            if txn.last_stable_offset >= upper_bound:
                return out, True
        return out, False
