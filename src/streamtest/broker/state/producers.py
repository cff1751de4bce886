"""Idempotent producer state: producer IDs, epochs and per-partition sequences.

Implements KIP-98's idempotence rules as Apache Kafka's ``ProducerStateManager``
applies them:

* Each (partition, producer id) remembers its epoch and the metadata of its last
  five batches. A retried batch whose sequence range matches one of them is a
  duplicate: it is not appended again and the producer is given its original
  offset.
* Within an epoch, a batch must start at the last sequence + 1 (wrapping at
  INT32_MAX); otherwise OUT_OF_ORDER_SEQUENCE_NUMBER.
* An older epoch gets INVALID_PRODUCER_EPOCH. A newer epoch must start at
  sequence 0.
* With no state for the producer and a non-zero sequence (its state expired or
  was never there), UNKNOWN_PRODUCER_ID, which makes clients re-initialise
  (KIP-360).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ...protocol.errors import ErrorCode
from ...protocol.records import BatchHeader
from .log import PartitionLog

#: How many batches' metadata Kafka keeps per producer and partition.
MAX_BATCHES_TO_RETAIN = 5
INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    """Sequence range and offsets of one appended batch."""

    first_seq: int
    last_seq: int
    base_offset: int
    last_offset: int


@dataclass(slots=True)
class ProducerEntry:
    """What one partition knows of one producer."""

    epoch: int
    batches: deque[BatchMetadata] = field(
        default_factory=lambda: deque(maxlen=MAX_BATCHES_TO_RETAIN)
    )
    last_timestamp: int = -1

    @property
    def last_seq(self) -> int:
        """Return the last sequence appended, or -1."""
        return self.batches[-1].last_seq if self.batches else -1


@dataclass(frozen=True, slots=True)
class AppendCheck:
    """The verdict on one batch: an error, a duplicate, or fine to append."""

    error_code: int = 0
    message: str | None = None
    duplicate_of: int | None = None


OK = AppendCheck()


def _last_seq_of(header: BatchHeader) -> int:
    return (header.base_sequence + header.last_offset_delta) % (INT32_MAX + 1)


def _in_sequence(last_seq: int, first_seq: int) -> bool:
    return first_seq == last_seq + 1 or (last_seq == INT32_MAX and first_seq == 0)


class ProducerStateManager:
    """Allocates producer IDs and checks idempotent appends for every partition."""

    def __init__(self) -> None:
        self.next_producer_id = 1000
        # (topic, partition) -> producer id -> entry
        self.partitions: dict[tuple[str, int], dict[int, ProducerEntry]] = {}

    def allocate_producer_id(self) -> int:
        """Return a fresh producer id."""
        pid = self.next_producer_id
        self.next_producer_id += 1
        return pid

    def entries(self, log: PartitionLog) -> dict[int, ProducerEntry]:
        """Return the producer entries of ``log`` (created empty on demand)."""
        key = (log.topic, log.index)
        found = self.partitions.get(key)
        if found is None:
            found = self.partitions[key] = {}
        return found

    def check_append(
        self, log: PartitionLog, header: BatchHeader, transactional_id: str | None
    ) -> AppendCheck:
        """Check an idempotent batch before it is appended to ``log``."""
        if header.base_sequence < 0:
            return OK  # a producer id without sequences (e.g. a transactional marker)
        entry = self.entries(log).get(header.producer_id)
        first_seq = header.base_sequence
        if entry is None:
            if first_seq != 0:
                return AppendCheck(
                    ErrorCode.UNKNOWN_PRODUCER_ID,
                    f"no state for producer {header.producer_id}; expected sequence 0, "
                    f"got {first_seq}",
                )
            return OK
        if header.producer_epoch < entry.epoch:
            return AppendCheck(
                ErrorCode.INVALID_PRODUCER_EPOCH,
                f"producer epoch {header.producer_epoch} is older than {entry.epoch}",
            )
        if header.producer_epoch > entry.epoch:
            if first_seq != 0:
                return AppendCheck(
                    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"new epoch {header.producer_epoch} must start at sequence 0, "
                    f"got {first_seq}",
                )
            return OK
        last_seq = _last_seq_of(header)
        for meta in entry.batches:
            if meta.first_seq == first_seq and meta.last_seq == last_seq:
                return AppendCheck(duplicate_of=meta.base_offset)
        if not _in_sequence(entry.last_seq, first_seq):
            return AppendCheck(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                f"expected sequence {entry.last_seq + 1}, got {first_seq}",
            )
        return OK

    def record_append(
        self, log: PartitionLog, header: BatchHeader, transactional_id: str | None = None
    ) -> None:
        """Remember an appended batch of a producer (its header has the final offset)."""
        entries = self.entries(log)
        entry = entries.get(header.producer_id)
        if entry is None or header.producer_epoch > entry.epoch:
            entry = entries[header.producer_id] = ProducerEntry(header.producer_epoch)
        entry.last_timestamp = header.max_timestamp
        if header.base_sequence >= 0:
            entry.batches.append(
                BatchMetadata(
                    header.base_sequence,
                    _last_seq_of(header),
                    header.base_offset,
                    header.base_offset + header.last_offset_delta,
                )
            )

    def forget_partition(self, topic: str, index: int) -> None:
        """Drop all producer state of a deleted partition."""
        self.partitions.pop((topic, index), None)

    def rebuild_from_log(self, log: PartitionLog) -> None:
        """Rebuild producer state from a recovered log, as Kafka does on restart."""
        from ...protocol.records import parse_header

        for batch in log.batches:
            header = parse_header(batch)
            if header.producer_id >= 0 and not header.is_control:
                self.record_append(log, header)
                self.next_producer_id = max(self.next_producer_id, header.producer_id + 1)
