"""Record-level work of the log cleaner: the offset map, the transaction state of a
cleaning pass, and filtering and rewriting one batch (Kafka's ``Cleaner``,
``SkimpyOffsetMap``, ``CleanedTransactionMetadata`` and ``MemoryRecords.filterTo``).

This is the only place where the log engine decodes records, and it runs on the
cleaner's worker thread, never on the event loop.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from ...protocol.exceptions import CorruptRecordBatch
from ...protocol.records import (
    ATTR_COMPRESSION_MASK,
    ATTR_DELETE_HORIZON,
    ATTR_TIMESTAMP_TYPE,
    BATCH_HEADER,
    HEADER_SIZE,
    LOG_OVERHEAD,
    NO_TIMESTAMP,
    BatchHeader,
    Compression,
    compress,
    crc32c,
    decompress,
    parse_header,
)
from .index import AbortedTxn

_UINT32 = struct.Struct(">I")
_ABORT = 0
_COMMIT = 1

#: Memory one offset-map entry costs in CPython (key object, offset int, dict
#: slot): tracemalloc measured 133 bytes for 16-byte keys on CPython 3.11, and a
#: dict may hold up to a third more just after it grows. So
#: ``log.cleaner.dedupe.buffer.size`` bounds the map's real memory, as it does in
#: Kafka (whose entries take 24 bytes: Kafka's default maps 5.6 M keys per pass,
#: ours 0.8 M).
MAP_ENTRY_BYTES = 160
#: Keys longer than this are stored as a 16-byte BLAKE2b digest (Kafka stores an
#: MD5 digest of every key); shorter ones as themselves.
MAX_RAW_KEY = 24


class RawRecord(NamedTuple):
    """Where one record lies in a batch's (decompressed) records section."""

    start: int  # the record's length varint
    body: int  # after the length varint: the attributes byte
    ts_end: int  # after the timestamp delta varint
    end: int
    timestamp_delta: int
    offset_delta: int
    key: bytes | None
    has_value: bool


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    b = buf[pos]
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    result = b & 0x7F
    shift = 7
    pos += 1
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise CorruptRecordBatch("varint too long in record")


def _write_varint(out: bytearray, n: int) -> None:
    v = ((n << 1) ^ (n >> 63)) & 0xFFFFFFFFFFFFFFFF
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def records_section(batch: memoryview, header: BatchHeader) -> bytes:
    """Return the batch's records section, decompressed.

    Raises:
        CorruptRecordBatch: it cannot be decompressed.
    """
    body = bytes(batch[HEADER_SIZE:])
    codec = header.attributes & ATTR_COMPRESSION_MASK
    return decompress(Compression(codec), body) if codec else body


def walk_records(body: bytes, count: int) -> list[RawRecord]:
    """Locate every record of a records section.

    Raises:
        CorruptRecordBatch: a record is malformed.
    """
    out: list[RawRecord] = []
    pos = 0
    n = len(body)
    try:
        for _ in range(count):
            start = pos
            length, pos = _varint(body, pos)
            end = pos + length
            if length < 0 or end > n:
                raise CorruptRecordBatch("record length runs past the batch")
            rec_body = pos
            pos += 1  # attributes
            ts_delta, pos = _varint(body, pos)
            ts_end = pos
            off_delta, pos = _varint(body, pos)
            key_len, pos = _varint(body, pos)
            if key_len < 0:
                key = None
            else:
                key = body[pos : pos + key_len]
                pos += key_len
            value_len, pos = _varint(body, pos)
            out.append(
                RawRecord(start, rec_body, ts_end, end, ts_delta, off_delta, key, value_len >= 0)
            )
            pos = end
    except IndexError:
        raise CorruptRecordBatch("truncated record") from None
    return out


def map_key(key: bytes) -> bytes:
    """Return the offset map's key for a record key (a digest for long keys)."""
    if len(key) <= MAX_RAW_KEY:
        return key
    return hashlib.blake2b(key, digest_size=16).digest()


def control_type(body: bytes, records: list[RawRecord]) -> int | None:
    """Return the control record type (0 ABORT, 1 COMMIT) of a control batch."""
    if not records:
        return None
    key = records[0].key
    if key is None or len(key) < 4:
        return None
    return int.from_bytes(key[2:4], "big", signed=True)


class OffsetMap:
    """Key to latest offset over the dirty part of a log, bounded in entries.

    Args:
        memory_bytes: ``log.cleaner.dedupe.buffer.size``.
        load_factor: ``log.cleaner.io.buffer.load.factor``: the share of the
            capacity filled before a pass stops (Kafka's ``dupBufferLoadFactor``).
    """

    def __init__(self, memory_bytes: int, load_factor: float = 0.9) -> None:
        self.slots = max(memory_bytes // MAP_ENTRY_BYTES, 1)
        self.max_entries = max(int(self.slots * load_factor), 1)
        self.map: dict[bytes, int] = {}
        self.latest_offset = -1

    def __len__(self) -> int:
        return len(self.map)

    @property
    def full(self) -> bool:
        """Return whether no new key may be added."""
        return len(self.map) >= self.max_entries

    def put(self, key: bytes, offset: int) -> None:
        """Record ``offset`` as the latest for ``key``."""
        self.map[key] = offset
        self.latest_offset = offset

    def get(self, key: bytes) -> int:
        """Return the latest offset of ``key``, or -1."""
        return self.map.get(key, -1)

    def update_latest_offset(self, offset: int) -> None:
        """Move the latest offset the map covers forward."""
        if offset > self.latest_offset:
            self.latest_offset = offset


@dataclass
class _AbortedMeta:
    txn: AbortedTxn
    last_observed_batch_offset: int | None = None


@dataclass
class CleanedTransactionMetadata:
    """Open transactions while the cleaner walks the log (Kafka's
    ``CleanedTransactionMetadata``): decides which aborted batches and markers go,
    and collects the aborted transactions the cleaned segment must still index."""

    ongoing_committed: set[int] = field(default_factory=set)
    ongoing_aborted: dict[int, _AbortedMeta] = field(default_factory=dict)
    aborted: list[tuple[int, int, AbortedTxn]] = field(default_factory=list)
    cleaned_index: list[AbortedTxn] | None = None
    _seq: int = 0

    def add_aborted(self, txns: list[AbortedTxn]) -> None:
        """Add aborted transactions met in the range about to be read."""
        for txn in txns:
            self._seq += 1
            heapq.heappush(self.aborted, (txn.first_offset, self._seq, txn))

    def _consume_up_to(self, offset: int) -> None:
        while self.aborted and self.aborted[0][0] <= offset:
            _, _, txn = heapq.heappop(self.aborted)
            self.ongoing_aborted.setdefault(txn.producer_id, _AbortedMeta(txn))

    def on_control_batch(self, header: BatchHeader, kind: int | None, empty: bool) -> bool:
        """Return whether a control batch may be discarded."""
        self._consume_up_to(header.last_offset)
        if empty:
            return True  # an empty control batch was already cleaned
        pid = header.producer_id
        if kind == _ABORT:
            meta = self.ongoing_aborted.pop(pid, None)
            # Keep the marker until every batch of the transaction is gone.
            if meta is not None and meta.last_observed_batch_offset is not None:
                if self.cleaned_index is not None:
                    self.cleaned_index.append(meta.txn)
                return False
            return True
        if kind == _COMMIT:
            # Removable if no batch of the transaction was traversed.
            if pid in self.ongoing_committed:
                self.ongoing_committed.discard(pid)
                return False
            return True
        return False

    def on_batch(self, header: BatchHeader) -> bool:
        """Return whether a data batch belongs to an aborted transaction."""
        self._consume_up_to(header.last_offset)
        if not header.is_transactional:
            return False
        meta = self.ongoing_aborted.get(header.producer_id)
        if meta is not None:
            meta.last_observed_batch_offset = header.last_offset
            return True
        self.ongoing_committed.add(header.producer_id)
        return False


class LastRecord(NamedTuple):
    """A producer's last entry in the log (Kafka's ``LastRecord``): the last offset
    of its last data batch (``None`` when a marker with a new epoch followed), and
    its epoch."""

    last_data_offset: int | None
    producer_epoch: int


@dataclass
class FilterStats:
    """Counts of one cleaning pass."""

    batches_read: int = 0
    records_read: int = 0
    bytes_read: int = 0
    batches_retained: int = 0
    records_retained: int = 0
    bytes_retained: int = 0
    invalid_records: int = 0


def _encode_batch(
    header: BatchHeader,
    body: bytearray,
    count: int,
    base_timestamp: int,
    max_timestamp: int,
    horizon: bool,
) -> bytes:
    codec = header.attributes & ATTR_COMPRESSION_MASK
    payload = compress(Compression(codec), bytes(body)) if codec else bytes(body)
    attributes = header.attributes & ~ATTR_DELETE_HORIZON
    if horizon:
        attributes |= ATTR_DELETE_HORIZON
    out = bytearray(HEADER_SIZE)
    BATCH_HEADER.pack_into(
        out,
        0,
        header.base_offset,
        HEADER_SIZE - LOG_OVERHEAD + len(payload),
        header.partition_leader_epoch,
        2,
        0,
        attributes,
        header.last_offset_delta,  # kept: the producer's last sequence depends on it
        base_timestamp,
        max_timestamp,
        header.producer_id,
        header.producer_epoch,
        header.base_sequence,
        count,
    )
    out += payload
    _UINT32.pack_into(out, 17, crc32c(memoryview(out)[21:]))
    return bytes(out)


def empty_batch(header: BatchHeader) -> bytes:
    """Return the 61-byte empty batch Kafka keeps for a producer's last batch
    (``DefaultRecordBatch.writeEmptyHeader``): offsets, producer id, epoch and base
    sequence preserved, no records, no compression."""
    stripped = dataclasses.replace(
        header,
        attributes=header.attributes & ~(ATTR_COMPRESSION_MASK | ATTR_DELETE_HORIZON),
    )
    return _encode_batch(
        stripped, bytearray(), 0, header.max_timestamp, header.max_timestamp, False
    )


@dataclass
class BatchFilter:
    """Decides, batch by batch, what a cleaning pass keeps (Kafka's
    ``Cleaner.cleanInto`` filter).

    Attributes:
        offset_map: latest offsets of the keys in the dirty range.
        txn: the transaction state of this pass.
        last_records: every producer's last entry (its batch is kept, at least empty).
        now_ms: the time of the pass (delete horizons are compared with it).
        delete_retention_ms: ``delete.retention.ms``.
        keep_last_before: batches ending right before one of these offsets are
            kept, at least empty: the end of the pass and of each cleaned
            segment, so that no segment ends before the next one starts.
    """

    offset_map: OffsetMap
    txn: CleanedTransactionMetadata
    last_records: dict[int, LastRecord]
    now_ms: int
    delete_retention_ms: int
    keep_last_before: set[int]
    stats: FilterStats = field(default_factory=FilterStats)

    def filter(self, batch: memoryview) -> tuple[bytes | memoryview | None, int, int]:
        """Return what to write for ``batch`` (``None``: drop it), and the retained
        batch's max timestamp and the offset of its batch (for the time index).

        Raises:
            CorruptRecordBatch: the batch cannot be decoded.
        """
        header = parse_header(batch)
        stats = self.stats
        stats.batches_read += 1
        stats.bytes_read += len(batch)
        stats.records_read += header.records_count
        body = records_section(batch, header) if header.records_count else b""
        records = walk_records(body, header.records_count) if header.records_count else []
        control = header.is_control
        if control:
            can_discard = self.txn.on_control_batch(
                header, control_type(body, records), header.records_count == 0
            )
            horizon = header.delete_horizon_ms
            discard_records = can_discard and horizon is not None and horizon <= self.now_ms
        else:
            can_discard = self.txn.on_batch(header)
            discard_records = can_discard
        last = self.last_records.get(header.producer_id) if header.producer_id >= 0 else None
        is_last_of_producer = last is not None and (
            header.last_offset == last.last_data_offset
            if last.last_data_offset is not None
            else control and header.producer_epoch == last.producer_epoch
        )
        retain_empty = is_last_of_producer or header.last_offset + 1 in self.keep_last_before
        if discard_records and not retain_empty:
            return None, -1, -1
        marker_for_empty_txn = can_discard and control
        retained: list[RawRecord] = []
        tombstones = False
        if not discard_records:
            if control:
                retained = records
            else:
                om = self.offset_map
                latest = om.latest_offset
                horizon = header.delete_horizon_ms
                keep_deletes = horizon is None or self.now_ms < horizon
                base = header.base_offset
                for rec in records:
                    offset = base + rec.offset_delta
                    if offset > latest:
                        keep = True
                    elif rec.key is None:
                        stats.invalid_records += 1
                        keep = False
                    else:
                        keep = offset >= om.get(map_key(rec.key)) and (
                            rec.has_value or keep_deletes
                        )
                    if keep:
                        retained.append(rec)
                        if not rec.has_value:
                            tombstones = True
        if retained:
            stats.batches_retained += 1
            stats.records_retained += len(retained)
            need_horizon = (tombstones or marker_for_empty_txn) and header.delete_horizon_ms is None
            if len(retained) == len(records) and not need_horizon:
                stats.bytes_retained += len(batch)
                return batch, header.max_timestamp, header.last_offset
            out = self._rewrite(header, body, retained, need_horizon)
            stats.bytes_retained += len(out)
            return out, _max_ts(out), header.last_offset
        if retain_empty:
            stats.batches_retained += 1
            out = empty_batch(header)
            stats.bytes_retained += len(out)
            return out, header.max_timestamp, header.last_offset
        return None, -1, -1

    def _rewrite(
        self, header: BatchHeader, body: bytes, retained: list[RawRecord], need_horizon: bool
    ) -> bytes:
        log_append_time = bool(header.attributes & ATTR_TIMESTAMP_TYPE)
        old_base_ts = header.base_timestamp
        if need_horizon:
            new_base_ts = self.now_ms + self.delete_retention_ms
            horizon = True
        else:
            new_base_ts = old_base_ts
            horizon = header.delete_horizon_ms is not None
        out = bytearray()
        max_ts = NO_TIMESTAMP
        for rec in retained:
            ts = old_base_ts + rec.timestamp_delta
            if ts > max_ts:
                max_ts = ts
            if new_base_ts == old_base_ts:
                out += body[rec.start : rec.end]
                continue
            inner = bytearray(body[rec.body : rec.body + 1])
            _write_varint(inner, ts - new_base_ts)
            inner += body[rec.ts_end : rec.end]
            _write_varint(out, len(inner))
            out += inner
        if log_append_time:
            max_ts = header.max_timestamp
        return _encode_batch(header, out, len(retained), new_base_ts, max_ts, horizon)


def _max_ts(batch: bytes) -> int:
    return int.from_bytes(batch[35:43], "big", signed=True)
