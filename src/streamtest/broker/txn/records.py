"""The records of ``__transaction_state``, in Kafka's key and value schemas.

Kafka's transaction coordinator keeps one record per transactional id in the
compacted ``__transaction_state`` topic, rewritten on every state change, and
rebuilds its cache from the topic when it becomes a partition's leader. Tools read
the topic with ``kafka-console-consumer --formatter
org.apache.kafka.tools.consumer.TransactionLogMessageFormatter``. The schemas are
Kafka's ``transaction-coordinator/src/main/resources/common/message``:

* key: the coordinator record type (INT16 0, ``TransactionLogKey``'s ``apiKey``),
  then ``TransactionLogKey`` v0 ``{transactionalId}`` (not flexible);
* value: an INT16 version, then ``TransactionLogValue`` ``{producerId,
  producerEpoch, transactionTimeoutMs, transactionStatus, transactionPartitions
  (nullable [topic, [partitionIds]]), transactionLastUpdateTimestampMs,
  transactionStartTimestampMs}``. Version 1 is flexible (compact strings and
  arrays, tagged fields) and adds the tagged fields ``previousProducerId`` (0),
  ``nextProducerId`` (1), ``clientTransactionVersion`` (2) and
  ``nextProducerEpoch`` (3), each written only when it differs from its default,
  as Kafka's generated code does;
* a null value (a tombstone) removes a transactional id that expired
  (``transactional.id.expiration.ms``).

Version 1 is written: Kafka 4.x writes it once the ``transaction.version`` feature
is at least 1, which it is on every new 4.x cluster (``TransactionVersion
.transactionLogValueVersion``). Versions 0 and 1 are read.

``transactionStatus`` is Kafka's ``TransactionState`` id (:data:`STATUS`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ...protocol.exceptions import InvalidFrame
from ...protocol.fields import FieldReader
from ...protocol.headers import write_array_len, write_string, write_uvarint
from .state import TxnState

#: ``CoordinatorRecordType.TRANSACTION_LOG``: the INT16 every key starts with.
TRANSACTION_LOG = 0
#: The ``TransactionLogValue`` version this broker writes.
VALUE_VERSION = 1

#: Kafka's ``TransactionState.id()`` of each state (the status byte of a value).
STATUS: dict[TxnState, int] = {
    TxnState.EMPTY: 0,
    TxnState.ONGOING: 1,
    TxnState.PREPARE_COMMIT: 2,
    TxnState.PREPARE_ABORT: 3,
    TxnState.COMPLETE_COMMIT: 4,
    TxnState.COMPLETE_ABORT: 5,
    TxnState.DEAD: 6,
    TxnState.PREPARE_EPOCH_FENCE: 7,
}
STATE_OF_STATUS: dict[int, TxnState] = {v: k for k, v in STATUS.items()}

# Tags of the version 1 tagged fields.
_TAG_PREVIOUS_PRODUCER_ID = 0
_TAG_NEXT_PRODUCER_ID = 1
_TAG_CLIENT_TRANSACTION_VERSION = 2
_TAG_NEXT_PRODUCER_EPOCH = 3

_I8 = struct.Struct(">b")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


# -- key ----------------------------------------------------------------------------


def transaction_log_key(transactional_id: str) -> bytes:
    """Return the key of ``transactional_id``'s record."""
    out = bytearray(_I16.pack(TRANSACTION_LOG))
    write_string(out, transactional_id, flexible=False)
    return bytes(out)


def decode_transaction_log_key(data: bytes) -> str | None:
    """Return the transactional id of a key, or ``None`` for a record type other
    than ``TRANSACTION_LOG`` (Kafka's loader skips those too).

    Raises:
        InvalidFrame: a truncated key.
    """
    r = FieldReader(data, "__transaction_state")
    if r.i16() != TRANSACTION_LOG:
        return None
    transactional_id = r.string(compact=False)
    if transactional_id is None:
        raise InvalidFrame("__transaction_state key without a transactional id")
    return transactional_id


# -- value --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransactionLogValue:
    """``TransactionLogValue``, with Kafka's field names in snake case.

    ``transaction_partitions`` is ``None`` in the Empty state (Kafka writes a null
    array there) and a list of ``(topic, partition ids)`` otherwise.
    """

    producer_id: int
    producer_epoch: int
    transaction_timeout_ms: int
    transaction_status: int
    transaction_partitions: tuple[tuple[str, tuple[int, ...]], ...] | None
    transaction_last_update_timestamp_ms: int
    transaction_start_timestamp_ms: int
    previous_producer_id: int = -1
    next_producer_id: int = -1
    next_producer_epoch: int = -1
    client_transaction_version: int = 0

    @property
    def state(self) -> TxnState:
        """Return the state of ``transaction_status``.

        Raises:
            InvalidFrame: an unknown status id.
        """
        state = STATE_OF_STATUS.get(self.transaction_status)
        if state is None:
            raise InvalidFrame(f"unknown transaction status {self.transaction_status}")
        return state

    def partitions(self) -> set[tuple[str, int]]:
        """Return the transaction's partitions as ``(topic, partition)`` pairs."""
        return {(t, p) for t, ids in self.transaction_partitions or () for p in ids}


def group_partitions(partitions: set[tuple[str, int]]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Return ``partitions`` grouped by topic, sorted, as ``transactionPartitions``."""
    by_topic: dict[str, list[int]] = {}
    for topic, index in sorted(partitions):
        by_topic.setdefault(topic, []).append(index)
    return tuple((topic, tuple(ids)) for topic, ids in by_topic.items())


def encode_transaction_log_value(value: TransactionLogValue, version: int = VALUE_VERSION) -> bytes:
    """Encode ``value`` as ``TransactionLogValue`` ``version`` (0 or 1), with its
    INT16 version prefix.

    Raises:
        ValueError: an unknown version.
    """
    if version not in (0, 1):
        raise ValueError(f"TransactionLogValue has versions 0 and 1, not {version}")
    flexible = version >= 1
    out = bytearray(_I16.pack(version))
    out += _I64.pack(value.producer_id)
    out += _I16.pack(value.producer_epoch)
    out += _I32.pack(value.transaction_timeout_ms)
    out += _I8.pack(value.transaction_status)
    partitions = value.transaction_partitions
    write_array_len(out, -1 if partitions is None else len(partitions), flexible)
    if partitions is not None:
        for topic, ids in partitions:
            write_string(out, topic, flexible)
            write_array_len(out, len(ids), flexible)
            for index in ids:
                out += _I32.pack(index)
            if flexible:
                out += b"\x00"  # no tagged fields in PartitionsSchema
    out += _I64.pack(value.transaction_last_update_timestamp_ms)
    out += _I64.pack(value.transaction_start_timestamp_ms)
    if flexible:
        tagged = []
        if value.previous_producer_id != -1:
            tagged.append((_TAG_PREVIOUS_PRODUCER_ID, _I64.pack(value.previous_producer_id)))
        if value.next_producer_id != -1:
            tagged.append((_TAG_NEXT_PRODUCER_ID, _I64.pack(value.next_producer_id)))
        if value.client_transaction_version != 0:
            tagged.append(
                (_TAG_CLIENT_TRANSACTION_VERSION, _I16.pack(value.client_transaction_version))
            )
        if value.next_producer_epoch != -1:
            tagged.append((_TAG_NEXT_PRODUCER_EPOCH, _I16.pack(value.next_producer_epoch)))
        write_uvarint(out, len(tagged))
        for tag, data in tagged:
            write_uvarint(out, tag)
            write_uvarint(out, len(data))
            out += data
    return bytes(out)


def decode_transaction_log_value(data: bytes) -> TransactionLogValue:
    """Decode ``TransactionLogValue`` v0 or v1 (with its version prefix); unknown
    tagged fields are skipped.

    Raises:
        InvalidFrame: truncated, or of an unknown version.
    """
    r = FieldReader(data, "__transaction_state")
    version = r.i16()
    if version not in (0, 1):
        raise InvalidFrame(f"unknown TransactionLogValue version {version}")
    flexible = version >= 1
    producer_id = r.i64()
    producer_epoch = r.i16()
    timeout_ms = r.i32()
    status = r.i8()
    count = r.array_len(flexible)
    partitions: tuple[tuple[str, tuple[int, ...]], ...] | None = None
    if count >= 0:
        rows = []
        for _ in range(count):
            topic = r.string(flexible)
            ids = tuple(r.i32() for _ in range(max(r.array_len(flexible), 0)))
            if flexible:
                r.tagged_fields()
            rows.append((topic or "", ids))
        partitions = tuple(rows)
    last_update = r.i64()
    start = r.i64()
    tags = r.tagged_fields() if flexible else {}
    try:
        return TransactionLogValue(
            producer_id,
            producer_epoch,
            timeout_ms,
            status,
            partitions,
            last_update,
            start,
            previous_producer_id=_tag_int(tags, _TAG_PREVIOUS_PRODUCER_ID, _I64, -1),
            next_producer_id=_tag_int(tags, _TAG_NEXT_PRODUCER_ID, _I64, -1),
            next_producer_epoch=_tag_int(tags, _TAG_NEXT_PRODUCER_EPOCH, _I16, -1),
            client_transaction_version=_tag_int(tags, _TAG_CLIENT_TRANSACTION_VERSION, _I16, 0),
        )
    except struct.error as exc:
        raise InvalidFrame(f"malformed TransactionLogValue tagged field: {exc}") from None


def _tag_int(tags: dict[int, bytes], tag: int, fmt: struct.Struct, default: int) -> int:
    raw = tags.get(tag)
    return default if raw is None else int(fmt.unpack(raw)[0])


