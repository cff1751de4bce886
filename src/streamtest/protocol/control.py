"""Control records: the transaction markers a coordinator writes into partitions.

A control batch (attributes bit 5) holds exactly one control record. Its layout is
given in the protocol guide ("Control Batches") and KIP-98::

    key:   version INT16 (0), type INT16 (0 = ABORT, 1 = COMMIT)
    value: version INT16 (0), coordinator_epoch INT32      (EndTransactionMarker)

The batch carries the producer id and epoch of the transaction it ends, a base
sequence of -1, and both the transactional and the control attribute bits. Clients
never see these records: consumers skip control batches, and read_committed
consumers use the abort markers (with the aborted-transactions list of a Fetch
response) to drop the records of aborted transactions.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from .exceptions import CorruptRecordBatch
from .records import RecordInput, build_batch, iter_records, parse_header

_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")
CONTROL_RECORD_VERSION = 0


class ControlRecordType(enum.IntEnum):
    """The ``type`` field of a control record's key."""

    ABORT = 0
    COMMIT = 1


@dataclass(frozen=True, slots=True)
class EndTransactionMarker:
    """A decoded COMMIT or ABORT marker."""

    type: ControlRecordType
    coordinator_epoch: int

    @property
    def committed(self) -> bool:
        """Return whether the marker commits (rather than aborts) its transaction."""
        return self.type == ControlRecordType.COMMIT


def encode_marker_key(kind: ControlRecordType) -> bytes:
    """Return the key of a control record of ``kind``."""
    return _KEY.pack(CONTROL_RECORD_VERSION, int(kind))


def encode_marker_value(coordinator_epoch: int) -> bytes:
    """Return the value of an end-transaction marker record."""
    return _VALUE.pack(CONTROL_RECORD_VERSION, coordinator_epoch)


def build_marker_batch(
    *,
    committed: bool,
    producer_id: int,
    producer_epoch: int,
    base_offset: int,
    timestamp_ms: int,
    coordinator_epoch: int = 0,
    partition_leader_epoch: int = 0,
) -> bytearray:
    """Encode a control batch holding one COMMIT or ABORT marker.

    Returns:
        The batch, with a valid CRC and ``base_offset`` already set.
    """
    kind = ControlRecordType.COMMIT if committed else ControlRecordType.ABORT
    record = RecordInput(
        encode_marker_key(kind), encode_marker_value(coordinator_epoch), timestamp=timestamp_ms
    )
    return build_batch(
        [record],
        base_offset=base_offset,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=-1,
        transactional=True,
        control=True,
        default_timestamp=timestamp_ms,
        partition_leader_epoch=partition_leader_epoch,
    )


def decode_marker(batch: bytes | bytearray | memoryview) -> EndTransactionMarker | None:
    """Decode the marker of a control batch.

    Returns:
        The marker, or ``None`` when the batch is not a control batch, is empty
        (Kafka's cleaner may leave empty control batches), or its record is not an
        end-transaction marker.

    Raises:
        CorruptRecordBatch: the batch or its record cannot be decoded.
    """
    header = parse_header(batch)
    if not header.is_control:
        return None
    for record in iter_records(batch):
        key = record.key or b""
        if len(key) < _KEY.size:
            raise CorruptRecordBatch("control record key is shorter than 4 bytes")
        _version, kind = _KEY.unpack_from(key)
        if kind not in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
            return None
        value = record.value or b""
        epoch = _VALUE.unpack_from(value)[1] if len(value) >= _VALUE.size else -1
        return EndTransactionMarker(ControlRecordType(kind), epoch)
    return None
