"""Walking the record batches of a segment file by their headers only.

The hot paths (fetch, offset lookups) never decode records: they read batch
headers out of blocks of the file, a few kilobytes at a time, starting from a
position found in the sparse offset index.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from ...protocol.exceptions import CorruptRecordBatch
from ...protocol.records import HEADER_SIZE, LOG_OVERHEAD
from ..storage.fs import Buffer, FileHandle

#: baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes,
#: lastOffsetDelta, baseTimestamp, maxTimestamp: the first 43 bytes of a header.
_PREFIX = struct.Struct(">qiibIhiqq")
PREFIX_SIZE = _PREFIX.size
MIN_BATCH_SIZE = HEADER_SIZE
#: Header scans read the file in blocks of this size.
SCAN_BLOCK = 16384


class BatchInfo(NamedTuple):
    """Where one batch lies in its segment file, and its offsets."""

    position: int
    size: int
    base_offset: int
    last_offset: int
    max_timestamp: int
    attributes: int
    partition_leader_epoch: int


def unpack_info(buf: Buffer, offset: int, position: int) -> BatchInfo:
    """Parse the header prefix at ``buf[offset:]`` of a batch stored at ``position``.

    Raises:
        CorruptRecordBatch: a bad magic or an impossible length.
    """
    base, length, epoch, magic, _crc, attrs, lod, _bts, max_ts = _PREFIX.unpack_from(buf, offset)
    if magic != 2:
        raise CorruptRecordBatch(f"unsupported record batch magic {magic}")
    if length < HEADER_SIZE - LOG_OVERHEAD or lod < 0:
        raise CorruptRecordBatch(f"impossible record batch length {length}")
    return BatchInfo(position, LOG_OVERHEAD + length, base, base + lod, max_ts, attrs, epoch)


def iter_infos(
    handle: FileHandle, start: int, end: int, block: int = SCAN_BLOCK
) -> Iterator[BatchInfo]:
    """Yield the batches in ``[start, end)`` of a segment file, by header only.

    Stops at ``end``; a batch that runs past ``end`` is yielded anyway (the caller
    compares its size).

    Raises:
        CorruptRecordBatch: a header cannot be parsed.
        OSError: a read failed.
    """
    pos = start
    buf: Buffer = b""
    buf_pos = 0
    while pos < end:
        off = pos - buf_pos
        if off < 0 or off + PREFIX_SIZE > len(buf):
            buf = handle.pread(pos, max(block, PREFIX_SIZE))
            buf_pos = pos
            off = 0
            if len(buf) < PREFIX_SIZE:
                raise CorruptRecordBatch(f"truncated record batch header at position {pos}")
        info = unpack_info(buf, off, pos)
        yield info
        pos += info.size


_SCAN = struct.Struct(">qiibIhi")  # up to lastOffsetDelta: what a scan needs
_PREFIX_12 = struct.Struct(">qi")  # baseOffset, batchLength


def find_batch(
    handle: FileHandle, start: int, end: int, offset: int, block: int = 8192
) -> BatchInfo | None:
    """Return the first batch in ``[start, end)`` whose last offset is at or past
    ``offset``, or ``None`` when every batch there ends before it.

    Raises:
        CorruptRecordBatch: a header cannot be parsed.
        OSError: a read failed.
    """
    unpack = _SCAN.unpack_from
    need = PREFIX_SIZE
    pos = start
    while pos < end:
        buf = handle.pread(pos, block)
        n = len(buf)
        if n < need:
            raise CorruptRecordBatch(f"truncated record batch header at position {pos}")
        off = 0
        while off + need <= n:
            base, length, _e, magic, _c, _a, lod = unpack(buf, off)
            if magic != 2 or length < HEADER_SIZE - LOG_OVERHEAD or lod < 0:
                raise CorruptRecordBatch(f"bad record batch header at position {pos + off}")
            if base + lod >= offset:
                return unpack_info(buf, off, pos + off)
            off += LOG_OVERHEAD + length
            if pos + off >= end:
                return None
        pos += off
    return None


def boundary_before(handle: FileHandle, start: int, end: int, limit: int) -> int:
    """Return the end of the last whole batch in ``[start, limit]`` (``start``
    when the first batch alone passes ``limit``); batches lie in ``[start, end)``.

    Raises:
        CorruptRecordBatch: a header cannot be parsed.
        OSError: a read failed.
    """
    unpack = _PREFIX_12.unpack_from
    pos = start
    last_end = start
    while pos < end:
        buf = handle.pread(pos, 8192)
        n = len(buf)
        off = 0
        while off + LOG_OVERHEAD <= n:
            _base, length = unpack(buf, off)
            nxt = pos + off + LOG_OVERHEAD + length
            if nxt > limit or length <= 0:
                return last_end
            last_end = nxt
            off += LOG_OVERHEAD + length
            if pos + off >= end:
                return last_end
        if off == 0:
            raise CorruptRecordBatch(f"truncated record batch header at position {pos}")
        pos += off
    return last_end


def iter_batch_views(
    handle: FileHandle, start: int, end: int, block: int = 1 << 20
) -> Iterator[tuple[BatchInfo, memoryview]]:
    """Yield ``(info, batch)`` for the whole batches in ``[start, end)``, reading the
    file in blocks; each view stays valid after the file changes.

    Raises:
        CorruptRecordBatch: a header cannot be parsed or a batch is torn.
        OSError: a read failed.
    """
    pos = start
    buf: Buffer = b""
    buf_pos = 0
    while pos < end:
        off = pos - buf_pos
        if off + PREFIX_SIZE > len(buf):
            buf = handle.pread(pos, max(block, PREFIX_SIZE))
            buf_pos, off = pos, 0
            if len(buf) < PREFIX_SIZE:
                raise CorruptRecordBatch(f"truncated record batch header at position {pos}")
        info = unpack_info(buf, off, pos)
        if off + info.size > len(buf):
            buf = handle.pread(pos, max(block, info.size))
            buf_pos, off = pos, 0
            if len(buf) < info.size:
                raise CorruptRecordBatch(f"torn record batch at position {pos}")
        yield info, memoryview(buf)[off : off + info.size]
        pos += info.size
