"""Idempotent producer state: producer IDs, epochs and per-partition sequences.

Implements KIP-98's idempotence rules as Apache Kafka's ``ProducerStateManager``
and ``ProducerAppendInfo`` apply them (current Kafka, with KIP-360):

* Each (partition, producer id) remembers its epoch and the metadata of its last
  five batches. A retried batch of the same epoch whose sequence range matches one
  of them is a duplicate: it is not appended again and the producer is given its
  original offset.
* An older epoch gets INVALID_PRODUCER_EPOCH (checked before sequences).
* Within an epoch, a batch must start at the last sequence + 1 (wrapping at
  INT32_MAX); otherwise OUT_OF_ORDER_SEQUENCE_NUMBER. A newer epoch must start at
  sequence 0.
* A producer the partition has no state for (never seen, or its state expired
  after ``producer_id_expiration_ms``) is accepted at any sequence. That is what
  Kafka brokers have done since KIP-360: the comment in ``checkSequence`` reads
  "If there is no current producer epoch (possibly because all producer records
  have been deleted due to retention or the DeleteRecords API) accept writes with
  any sequence number". Older brokers answered UNKNOWN_PRODUCER_ID here; clients
  still handle that code, but a current broker never sends it for Produce.
* Transactions (KIP-98): a transactional batch opens the producer's transaction on
  the partition (``PartitionLog.open_transactions``); a non-transactional batch
  while one is open is INVALID_TXN_STATE; a COMMIT or ABORT marker closes it,
  bumps the stored epoch if the marker's is newer, and an ABORT is remembered in
  ``PartitionLog.aborted_transactions`` for read_committed fetches.

Producer ids are handed out from blocks of 1000 (as Kafka's ``ProducerIdManager``
does); the end of the current block is persisted, so a restarted broker never
hands out an id twice.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...protocol.control import decode_marker
from ...protocol.errors import ErrorCode
from ...protocol.exceptions import CorruptRecordBatch
from ...protocol.records import BatchHeader, parse_header
from .log import PartitionLog

if TYPE_CHECKING:
    from ..storage.base import Storage

_logger = logging.getLogger("streamtest.broker.producers")

#: How many batches' metadata Kafka keeps per producer and partition.
MAX_BATCHES_TO_RETAIN = 5
INT32_MAX = 2**31 - 1
#: Producer ids are reserved in blocks of this size (Kafka's ``ProducerIdManager``).
PRODUCER_ID_BLOCK_SIZE = 1000
FIRST_PRODUCER_ID = 1000
_META_NAMESPACE = "producer_ids"


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    """Sequence range and offsets of one appended batch."""

    first_seq: int
    last_seq: int
    base_offset: int
    last_offset: int


@dataclass(slots=True)
class ProducerEntry:
    """What one partition knows of one producer.

    Attributes:
        epoch: the newest epoch seen (from data or from a transaction marker).
        batches: the last five batches of that epoch.
        last_timestamp: the max timestamp of the last batch (DescribeProducers).
        coordinator_epoch: the coordinator epoch of the last marker, else -1.
        last_append_ms: broker wall-clock time of the last append; expiry is
            measured from it (not from client timestamps, which may lie in the past).
    """

    epoch: int
    batches: deque[BatchMetadata] = field(
        default_factory=lambda: deque(maxlen=MAX_BATCHES_TO_RETAIN)
    )
    last_timestamp: int = -1
    coordinator_epoch: int = -1
    last_append_ms: int = 0

    @property
    def last_seq(self) -> int:
        """Return the last sequence appended in this epoch, or -1."""
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


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class ProducerStateManager:
    """Allocates producer IDs and checks idempotent appends for every partition.

    Args:
        storage: persists the producer-id block; ``None`` keeps it in memory.
    """

    def __init__(self, storage: Storage | None = None) -> None:
        self.storage = storage
        self.next_producer_id = FIRST_PRODUCER_ID
        self._block_end = FIRST_PRODUCER_ID
        if storage is not None:
            saved = storage.load_meta(_META_NAMESPACE).get("block_end")
            if saved is not None:
                self.next_producer_id = self._block_end = int(saved)
        # (topic, partition) -> producer id -> entry
        self.partitions: dict[tuple[str, int], dict[int, ProducerEntry]] = {}

    def allocate_producer_id(self) -> int:
        """Return a fresh producer id, never handed out before (even across restarts)."""
        pid = self.next_producer_id
        self.next_producer_id += 1
        if self.next_producer_id > self._block_end:
            self._block_end = pid + PRODUCER_ID_BLOCK_SIZE
            if self.storage is not None:
                self.storage.put_meta(_META_NAMESPACE, "block_end", self._block_end)
        return pid

    def entries(self, log: PartitionLog) -> dict[int, ProducerEntry]:
        """Return the producer entries of ``log`` (created empty on demand)."""
        key = (log.topic, log.index)
        found = self.partitions.get(key)
        if found is None:
            found = self.partitions[key] = {}
        return found

    def check_append(
        self, log: PartitionLog, header: BatchHeader, transactional_id: str | None = None
    ) -> AppendCheck:
        """Check a batch with a producer id before it is appended to ``log``.

        Returns:
            ``OK``, a duplicate (``duplicate_of`` is the original base offset), or an
            error: INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER or
            INVALID_TXN_STATE.
        """
        entry = self.entries(log).get(header.producer_id)
        first_seq = header.base_sequence
        if entry is not None:
            if header.producer_epoch == entry.epoch and first_seq >= 0:
                # Kafka looks for a duplicate before validating (findDuplicateBatch).
                last_seq = _last_seq_of(header)
                for meta in entry.batches:
                    if meta.first_seq == first_seq and meta.last_seq == last_seq:
                        return AppendCheck(duplicate_of=meta.base_offset)
            if header.producer_epoch < entry.epoch:
                return AppendCheck(
                    ErrorCode.INVALID_PRODUCER_EPOCH,
                    f"producer {header.producer_id} epoch {header.producer_epoch} is older "
                    f"than the last seen epoch {entry.epoch}",
                )
            if first_seq >= 0:
                if header.producer_epoch > entry.epoch:
                    if first_seq != 0:
                        return AppendCheck(
                            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                            f"new epoch {header.producer_epoch} of producer "
                            f"{header.producer_id} must start at sequence 0, got {first_seq}",
                        )
                elif not _in_sequence(entry.last_seq, first_seq):
                    return AppendCheck(
                        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                        f"out of order sequence for producer {header.producer_id}: expected "
                        f"{(entry.last_seq + 1) % (INT32_MAX + 1)}, got {first_seq}",
                    )
        # No entry: accept any sequence (KIP-360; see the module docstring).
        in_txn = header.producer_id in log.open_transactions
        if in_txn and not header.is_transactional:
            return AppendCheck(
                ErrorCode.INVALID_TXN_STATE,
                f"non-transactional batch from producer {header.producer_id}, which has an "
                "open transaction on this partition",
            )
        return OK

    def record_append(
        self, log: PartitionLog, header: BatchHeader, transactional_id: str | None = None
    ) -> None:
        """Remember an appended data batch (its header has the final offset).

        A transactional batch opens the producer's transaction on ``log`` if none
        is open, which holds back the last stable offset (KIP-98).
        """
        entries = self.entries(log)
        pid = header.producer_id
        entry = entries.get(pid)
        if entry is None or header.producer_epoch > entry.epoch:
            coordinator_epoch = entry.coordinator_epoch if entry is not None else -1
            entry = entries[pid] = ProducerEntry(
                header.producer_epoch, coordinator_epoch=coordinator_epoch
            )
        entry.last_timestamp = header.max_timestamp
        entry.last_append_ms = _now_ms()
        if header.base_sequence >= 0:
            entry.batches.append(
                BatchMetadata(
                    header.base_sequence,
                    _last_seq_of(header),
                    header.base_offset,
                    header.base_offset + header.last_offset_delta,
                )
            )
        if header.is_transactional and pid not in log.open_transactions:
            log.open_transactions[pid] = header.base_offset

    def record_marker(
        self, log: PartitionLog, header: BatchHeader, committed: bool, coordinator_epoch: int
    ) -> None:
        """Apply an appended COMMIT or ABORT marker (``header`` is its batch header).

        Closes the producer's open transaction on ``log``; an ABORT of a
        transaction that wrote data is added to ``log.aborted_transactions`` as
        ``(producer_id, first_offset, marker_offset)``. A marker with a newer epoch
        (a fenced or timed-out transaction) moves the producer to that epoch, so the
        old epoch's late batches are rejected.
        """
        pid = header.producer_id
        entries = self.entries(log)
        entry = entries.get(pid)
        if entry is None or header.producer_epoch > entry.epoch:
            entry = entries[pid] = ProducerEntry(header.producer_epoch)
        entry.coordinator_epoch = coordinator_epoch
        entry.last_timestamp = header.max_timestamp
        entry.last_append_ms = _now_ms()
        first = log.open_transactions.pop(pid, None)
        if first is not None and not committed:
            log.aborted_transactions.append((pid, first, header.base_offset))

    def forget_partition(self, topic: str, index: int) -> None:
        """Drop all producer state of a deleted partition."""
        self.partitions.pop((topic, index), None)

    def expire(self, logs: Iterable[PartitionLog], max_age_ms: int, now_ms: int) -> int:
        """Forget producers idle for ``max_age_ms`` (``producer.id.expiration.ms``).

        A producer with an open transaction on a partition is kept there, as Kafka
        keeps it. Returns how many (partition, producer) entries were dropped.
        """
        dropped = 0
        for plog in logs:
            entries = self.partitions.get((plog.topic, plog.index))
            if not entries:
                continue
            for pid in [
                pid
                for pid, e in entries.items()
                if now_ms - e.last_append_ms >= max_age_ms and pid not in plog.open_transactions
            ]:
                del entries[pid]
                dropped += 1
        return dropped

    def rebuild_from_log(self, log: PartitionLog) -> None:
        """Rebuild producer state, open transactions and the aborted-transactions list
        from a recovered log, as Kafka does on restart (it replays the log from its
        last producer snapshot; we have no snapshots, so we replay all of it)."""
        for batch in log.batches:
            header = parse_header(batch)
            if header.producer_id < 0:
                continue
            self.next_producer_id = max(self.next_producer_id, header.producer_id + 1)
            if header.is_control:
                try:
                    marker = decode_marker(batch)
                except CorruptRecordBatch as exc:
                    _logger.warning("skipping a bad marker in %s-%s: %s", log.topic, log.index, exc)
                    continue
                if marker is not None:
                    self.record_marker(log, header, marker.committed, marker.coordinator_epoch)
            else:
                self.record_append(log, header)
        self._block_end = max(self._block_end, self.next_producer_id)
