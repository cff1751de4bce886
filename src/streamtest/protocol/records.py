"""RecordBatch v2 (magic 2): header parsing, CRC32C, offset rewrite, record codec.

Layout of the 61-byte batch header (protocol guide, "Record Batch")::

    baseOffset: int64            @0   (outside the CRC: the broker rewrites it)
    batchLength: int32           @8   (bytes after this field)
    partitionLeaderEpoch: int32  @12  (outside the CRC)
    magic: int8                  @16  (must be 2)
    crc: uint32                  @17  (CRC32C of everything from attributes on)
    attributes: int16            @21  (bits 0-2 codec, 3 timestamp type,
                                       4 transactional, 5 control)
    lastOffsetDelta: int32       @23
    baseTimestamp: int64         @27
    maxTimestamp: int64          @35
    producerId: int64            @43
    producerEpoch: int16         @51
    baseSequence: int32          @53
    recordsCount: int32          @57
    records                      @61

The broker keeps batches exactly as the producer sent them (compressed or not), so
only the header is parsed on the hot path, with ``struct``.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from .exceptions import CorruptRecordBatch, InvalidRecordBatch

HEADER_SIZE = 61
#: Bytes before ``batchLength``'s payload starts: baseOffset + batchLength.
LOG_OVERHEAD = 12
_CRC_START = 21

#: The 61-byte v2 batch header (the fields of :class:`BatchHeader`, in order).
BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")
_BASE_OFFSET = struct.Struct(">q")
_INT64 = struct.Struct(">q")
_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")

ATTR_COMPRESSION_MASK = 0x07
ATTR_TIMESTAMP_TYPE = 0x08
ATTR_TRANSACTIONAL = 0x10
ATTR_CONTROL = 0x20
#: KIP-534: the base timestamp holds the delete horizon set by the log cleaner.
ATTR_DELETE_HORIZON = 0x40

NO_PRODUCER_ID = -1
NO_TIMESTAMP = -1


class Compression(IntEnum):
    """Codec ids in the low three attribute bits."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """Return the CRC32C (Castagnoli) checksum of ``data``."""
    return _crc32c()(data)


@functools.cache
def _crc32c() -> Callable[[bytes | bytearray | memoryview], int]:
    # Imported on the first batch, not with the broker: the crc32c package's
    # __init__ reads its own version through importlib.metadata, ~15 ms of a cold
    # start.
    from crc32c import crc32c as native

    return native


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """The parsed 61-byte header of a v2 record batch."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        """Return the whole batch size in bytes, header included."""
        return LOG_OVERHEAD + self.batch_length

    @property
    def last_offset(self) -> int:
        """Return the offset of the batch's last record."""
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self) -> Compression:
        """Return the batch's compression codec."""
        return Compression(self.attributes & ATTR_COMPRESSION_MASK)

    @property
    def is_transactional(self) -> bool:
        """Return whether the batch belongs to a transaction."""
        return bool(self.attributes & ATTR_TRANSACTIONAL)

    @property
    def is_control(self) -> bool:
        """Return whether the batch is a control batch (a transaction marker)."""
        return bool(self.attributes & ATTR_CONTROL)

    @property
    def log_append_time(self) -> bool:
        """Return whether timestamps are the broker's LogAppendTime."""
        return bool(self.attributes & ATTR_TIMESTAMP_TYPE)

    @property
    def delete_horizon_ms(self) -> int | None:
        """Return the KIP-534 delete horizon set by a previous cleaning, or ``None``."""
        return self.base_timestamp if self.attributes & ATTR_DELETE_HORIZON else None


def parse_header(buf: bytes | bytearray | memoryview, offset: int = 0) -> BatchHeader:
    """Parse the batch header at ``offset``.

    Raises:
        InvalidRecordBatch: fewer than 61 bytes remain, or the magic is not 2.
    """
    if len(buf) - offset < HEADER_SIZE:
        raise InvalidRecordBatch("record batch header is truncated")
    header = BatchHeader(*BATCH_HEADER.unpack_from(buf, offset))
    if header.magic != 2:
        raise InvalidRecordBatch(f"unsupported record batch magic {header.magic}")
    return header


def split_batches(records: memoryview) -> list[tuple[BatchHeader, memoryview]]:
    """Split a produce request's record set into whole, CRC-checked batches.

    Returns:
        ``(header, view)`` pairs; each view covers one whole batch, zero-copy.

    Raises:
        InvalidRecordBatch: a batch is truncated, has a bad magic, an impossible
            length or a negative count.
        CorruptRecordBatch: a CRC mismatch.
    """
    out: list[tuple[BatchHeader, memoryview]] = []
    pos = 0
    n = len(records)
    while pos < n:
        header = parse_header(records, pos)
        end = pos + header.size
        if header.batch_length < HEADER_SIZE - LOG_OVERHEAD or end > n:
            raise InvalidRecordBatch(
                f"record batch length {header.batch_length} does not fit the record set"
            )
        view = records[pos:end]
        if crc32c(view[_CRC_START:]) != header.crc:
            raise CorruptRecordBatch("record batch CRC32C mismatch")
        if header.records_count < 0 or header.last_offset_delta < 0:
            raise InvalidRecordBatch("record batch has a negative record count")
        out.append((header, view))
        pos = end
    return out


def set_base_offset(batch: bytearray | memoryview, base_offset: int) -> None:
    """Rewrite a batch's base offset in place (it lies outside the CRC)."""
    _BASE_OFFSET.pack_into(batch, 0, base_offset)


def set_partition_leader_epoch(batch: bytearray | memoryview, epoch: int) -> None:
    """Stamp the leader epoch a batch was appended in (KIP-101), in place; the field
    (bytes 12-15) lies outside the CRC, as the base offset does."""
    _INT32.pack_into(batch, 12, epoch)


def set_log_append_time(batch: bytearray | memoryview, timestamp_ms: int) -> None:
    """Stamp a batch with LogAppendTime in place and recompute its CRC.

    Kafka sets the timestamp-type attribute bit and overwrites ``maxTimestamp``
    (KIP-32); both lie inside the CRC, so the CRC is recomputed.
    """
    (attributes,) = _INT16.unpack_from(batch, 21)
    _INT16.pack_into(batch, 21, attributes | ATTR_TIMESTAMP_TYPE)
    _INT64.pack_into(batch, 35, timestamp_ms)
    _UINT32.pack_into(batch, 17, crc32c(memoryview(batch)[_CRC_START:]))


# ---------------------------------------------------------------------------
# Records inside a batch: only needed off the hot path (inspection, tests,
# control markers), so clarity wins over speed here.


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded record with its absolute offset and timestamp."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass(slots=True)
class RecordInput:
    """A record to encode into a batch."""

    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]] = field(default_factory=tuple)
    timestamp: int | None = None


def _zigzag_encode(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def write_varint(out: bytearray, n: int) -> None:
    """Append a zigzag signed varint (used inside records) to ``out``."""
    v = _zigzag_encode(n) & 0xFFFFFFFFFFFFFFFF
    while v & ~0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def read_varint(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Read a zigzag signed varint; return the value and the new position.

    Raises:
        CorruptRecordBatch: the varint is truncated.
    """
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise CorruptRecordBatch("truncated varint in record")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            raise CorruptRecordBatch("varint too long in record")
    return (result >> 1) ^ -(result & 1), pos


def _read_bytes(buf: bytes | memoryview, pos: int) -> tuple[bytes | None, int]:
    length, pos = read_varint(buf, pos)
    if length < 0:
        return None, pos
    if pos + length > len(buf):
        raise CorruptRecordBatch("record field runs past the end of the batch")
    return bytes(buf[pos : pos + length]), pos + length


def compress(codec: Compression, data: bytes) -> bytes:
    """Compress ``data`` the way Kafka producers do for ``codec``."""
    import cramjam

    if codec == Compression.NONE:
        return data
    if codec == Compression.GZIP:
        import gzip  # here: only gzip batches need it, and it costs ~1 ms at start

        return gzip.compress(data)
    if codec == Compression.SNAPPY:
        return bytes(cramjam.snappy.compress_raw(data))
    if codec == Compression.LZ4:
        # An LZ4 frame of independent blocks: Kafka's reader (KafkaLZ4BlockInputStream)
        # rejects block-linked frames, cramjam's default ("Dependent block stream is
        # unsupported"). Found by tests/fidelity against Apache Kafka.
        compressor = cramjam.lz4.Compressor(content_checksum=False, block_linked=False)
        compressor.compress(data)
        return bytes(compressor.finish())
    if codec == Compression.ZSTD:
        return bytes(cramjam.zstd.compress(data))
    raise ValueError(f"unknown compression codec {codec}")


_XERIAL_MAGIC = b"\x82SNAPPY\x00"


def decompress(codec: Compression, data: bytes) -> bytes:
    """Decompress a batch's records section.

    Snappy data may be raw (librdkafka) or xerial-framed (the Java client's
    snappy-java stream), so both are accepted.

    Raises:
        CorruptRecordBatch: the data cannot be decompressed.
    """
    import cramjam

    try:
        if codec == Compression.NONE:
            return data
        if codec == Compression.GZIP:
            import gzip

            return gzip.decompress(data)
        if codec == Compression.SNAPPY:
            if data[:8] == _XERIAL_MAGIC:
                out = bytearray()
                pos = 16  # magic(8) + version(4) + compatible version(4)
                while pos < len(data):
                    (size,) = struct.unpack_from(">i", data, pos)
                    pos += 4
                    out += bytes(cramjam.snappy.decompress_raw(data[pos : pos + size]))
                    pos += size
                return bytes(out)
            return bytes(cramjam.snappy.decompress_raw(data))
        if codec == Compression.LZ4:
            return bytes(cramjam.lz4.decompress(data))
        if codec == Compression.ZSTD:
            return bytes(cramjam.zstd.decompress(data))
    except Exception as exc:
        raise CorruptRecordBatch(f"cannot decompress {codec.name} batch: {exc}") from exc
    raise CorruptRecordBatch(f"unknown compression codec {int(codec)}")


def iter_records(batch: bytes | bytearray | memoryview) -> Iterator[Record]:
    """Decode every record of one batch, decompressing as needed.

    Raises:
        CorruptRecordBatch: the batch cannot be decoded.
    """
    header = parse_header(batch)
    body = bytes(batch[HEADER_SIZE : header.size])
    body = decompress(header.compression, body)
    pos = 0
    for _ in range(header.records_count):
        length, pos = read_varint(body, pos)
        end = pos + length
        pos += 1  # record attributes (unused)
        ts_delta, pos = read_varint(body, pos)
        off_delta, pos = read_varint(body, pos)
        key, pos = _read_bytes(body, pos)
        value, pos = _read_bytes(body, pos)
        n_headers, pos = read_varint(body, pos)
        headers = []
        for _h in range(n_headers):
            hkey, pos = _read_bytes(body, pos)
            hval, pos = _read_bytes(body, pos)
            headers.append(((hkey or b"").decode("utf-8", errors="replace"), hval))
        if pos != end:
            raise CorruptRecordBatch("record length does not match its fields")
        timestamp = (
            header.max_timestamp if header.log_append_time else header.base_timestamp + ts_delta
        )
        yield Record(header.base_offset + off_delta, timestamp, key, value, tuple(headers))


def _encode_bytes(out: bytearray, data: bytes | None) -> None:
    if data is None:
        write_varint(out, -1)
    else:
        write_varint(out, len(data))
        out += data


def build_batch(
    records: Sequence[RecordInput],
    *,
    base_offset: int = 0,
    compression: Compression = Compression.NONE,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    transactional: bool = False,
    control: bool = False,
    default_timestamp: int = 0,
    partition_leader_epoch: int = 0,
) -> bytearray:
    """Encode ``records`` into one v2 record batch with a valid CRC.

    Used for control markers, for tests and by the kit; producers' batches are
    stored as sent and never re-encoded.
    """
    timestamps = [r.timestamp if r.timestamp is not None else default_timestamp for r in records]
    base_ts = min(timestamps) if timestamps else default_timestamp
    max_ts = max(timestamps) if timestamps else default_timestamp
    body = bytearray()
    for i, (rec, ts) in enumerate(zip(records, timestamps, strict=True)):
        inner = bytearray(b"\x00")  # record attributes
        write_varint(inner, ts - base_ts)
        write_varint(inner, i)
        _encode_bytes(inner, rec.key)
        _encode_bytes(inner, rec.value)
        write_varint(inner, len(rec.headers))
        for hkey, hval in rec.headers:
            _encode_bytes(inner, hkey.encode())
            _encode_bytes(inner, hval)
        write_varint(body, len(inner))
        body += inner
    payload = compress(compression, bytes(body))
    attributes = int(compression)
    if transactional:
        attributes |= ATTR_TRANSACTIONAL
    if control:
        attributes |= ATTR_CONTROL
    batch = bytearray(HEADER_SIZE)
    BATCH_HEADER.pack_into(
        batch,
        0,
        base_offset,
        HEADER_SIZE - LOG_OVERHEAD + len(payload),
        partition_leader_epoch,
        2,
        0,
        attributes,
        max(len(records) - 1, 0),
        base_ts,
        max_ts,
        producer_id,
        producer_epoch,
        base_sequence,
        len(records),
    )
    batch += payload
    _UINT32.pack_into(batch, 17, crc32c(memoryview(batch)[_CRC_START:]))
    return batch
