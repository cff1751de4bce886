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
ATTR_CONTROL = 0x20
ATTR_TRANSACTIONAL = 0x10
#: KIP-534: the base timestamp holds the delete horizon of the cleaner.
ATTR_DELETE_HORIZON = 0x40


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


def find_batch(handle: FileHandle, start: int, end: int, offset: int) -> BatchInfo | None:
    """Return the first batch in ``[start, end)`` whose last offset is at or past
    ``offset``, or ``None`` when every batch there ends before it.

    Raises:
        CorruptRecordBatch: a header cannot be parsed.
        OSError: a read failed.
    """
    for info in iter_infos(handle, start, end, 8192):
        if info.last_offset >= offset:
            return info
    return None


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
