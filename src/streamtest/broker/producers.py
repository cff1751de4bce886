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
  the partition (``Partition.open_transactions``); a non-transactional batch
  while one is open is INVALID_TXN_STATE; a COMMIT or ABORT marker closes it,
  bumps the stored epoch if the marker's is newer, and an ABORT is remembered in
  ``Partition.aborted_transactions`` for read_committed fetches.

The state of each partition lives on its :class:`~.topics.Partition` (the
leader's view); the functions here read and change it.

Producer ids are handed out from blocks of 1000 (as Kafka's ``ProducerIdManager``
does); the end of the current block is persisted, so a restarted broker never
hands out an id twice.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..protocol.control import decode_marker
from ..protocol.errors import ErrorCode
from ..protocol.exceptions import CorruptRecordBatch
from ..protocol.records import BatchHeader
from .topics import Partition

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


class ProducerIdManager:
    """Hands out producer ids, never the same one twice, even across restarts.

    Args:
        load_block_end: returns the persisted end of the last reserved block, or
            ``None`` (a fresh cluster).
        save_block_end: persists a newly reserved block's end before any id of it
            is handed out.
    """

    def __init__(
        self,
        load_block_end: Callable[[], int | None] = lambda: None,
        save_block_end: Callable[[int], None] = lambda end: None,
    ) -> None:
        self._save = save_block_end
        saved = load_block_end()
        self.next_producer_id = FIRST_PRODUCER_ID if saved is None else int(saved)
        self._block_end = self.next_producer_id

    def allocate(self) -> int:
        """Return a fresh producer id."""
        pid = self.next_producer_id
        self.next_producer_id += 1
        if self.next_producer_id > self._block_end:
            self._block_end = pid + PRODUCER_ID_BLOCK_SIZE
            self._save(self._block_end)
        return pid

    def seen(self, producer_id: int) -> None:
        """Never hand out ``producer_id`` or anything below it again (it was found
        in a recovered log or transaction state)."""
        if producer_id + 1 > self.next_producer_id:
            self.next_producer_id = producer_id + 1
            if self.next_producer_id > self._block_end:
                self._block_end = self.next_producer_id
                self._save(self._block_end)


def check_append(partition: Partition, header: BatchHeader) -> AppendCheck:
    """Check a batch with a producer id before it is appended to ``partition``.

    Returns:
        ``OK``, a duplicate (``duplicate_of`` is the original base offset), or an
        error: INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER or
        INVALID_TXN_STATE.
    """
    entry = partition.producers.get(header.producer_id)
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
    in_txn = header.producer_id in partition.open_transactions
    if in_txn and not header.is_transactional:
        return AppendCheck(
            ErrorCode.INVALID_TXN_STATE,
            f"non-transactional batch from producer {header.producer_id}, which has an "
            "open transaction on this partition",
        )
    return OK


def record_append(partition: Partition, header: BatchHeader, now_ms: int) -> None:
    """Remember an appended data batch (its header has the final offset).

    A transactional batch opens the producer's transaction on ``partition`` if none
    is open, which holds back the last stable offset (KIP-98).
    """
    entries = partition.producers
    pid = header.producer_id
    entry = entries.get(pid)
    if entry is None or header.producer_epoch > entry.epoch:
        coordinator_epoch = entry.coordinator_epoch if entry is not None else -1
        entry = entries[pid] = ProducerEntry(
            header.producer_epoch, coordinator_epoch=coordinator_epoch
        )
    entry.last_timestamp = header.max_timestamp
    entry.last_append_ms = now_ms
    if header.base_sequence >= 0:
        entry.batches.append(
            BatchMetadata(
                header.base_sequence,
                _last_seq_of(header),
                header.base_offset,
                header.base_offset + header.last_offset_delta,
            )
        )
    if header.is_transactional and pid not in partition.open_transactions:
        partition.open_transactions[pid] = header.base_offset


def record_marker(
    partition: Partition, header: BatchHeader, committed: bool, coordinator_epoch: int, now_ms: int
) -> None:
    """Apply an appended COMMIT or ABORT marker (``header`` is its batch header).

    Closes the producer's open transaction on ``partition``; an ABORT of a
    transaction that wrote data is added to ``partition.aborted_transactions`` as
    ``(producer_id, first_offset, marker_offset)``. A marker with a newer epoch
    (a fenced or timed-out transaction) moves the producer to that epoch, so the
    old epoch's late batches are rejected.
    """
    pid = header.producer_id
    entries = partition.producers
    entry = entries.get(pid)
    if entry is None or header.producer_epoch > entry.epoch:
        entry = entries[pid] = ProducerEntry(header.producer_epoch)
    entry.coordinator_epoch = coordinator_epoch
    entry.last_timestamp = header.max_timestamp
    entry.last_append_ms = now_ms
    first = partition.open_transactions.pop(pid, None)
    if first is not None and not committed:
        partition.aborted_transactions.append((pid, first, header.base_offset))


def expire(partitions: Iterable[Partition], max_age_ms: int, now_ms: int) -> int:
    """Forget producers idle for ``max_age_ms`` (``producer.id.expiration.ms``).

    A producer with an open transaction on a partition is kept there, as Kafka
    keeps it. Returns how many (partition, producer) entries were dropped.
    """
    dropped = 0
    for partition in partitions:
        entries = partition.producers
        if not entries:
            continue
        for pid in [
            pid
            for pid, e in entries.items()
            if now_ms - e.last_append_ms >= max_age_ms and pid not in partition.open_transactions
        ]:
            del entries[pid]
            dropped += 1
    return dropped


def rebuild(partition: Partition, ids: ProducerIdManager | None, now_ms: int) -> None:
    """Rebuild producer state, open transactions and the aborted-transactions list
    of ``partition`` from its leader's log, as Kafka does when a replica becomes
    leader or a log is recovered.

    Kafka replays the log from its last producer snapshot; this replays the
    partition's whole leader log.
    """
    partition.producers.clear()
    partition.open_transactions.clear()
    partition.aborted_transactions.clear()
    log = partition.log
    for header, batch in partition.iter_batches(log.log_start_offset, log.log_end_offset):
        if header.producer_id < 0:
            continue
        if ids is not None:
            ids.seen(header.producer_id)
        if header.is_control:
            try:
                marker = decode_marker(batch)
            except CorruptRecordBatch as exc:
                _logger.warning(
                    "skipping a bad marker in %s-%s: %s", partition.topic, partition.index, exc
                )
                continue
            if marker is not None:
                record_marker(partition, header, marker.committed, marker.coordinator_epoch, now_ms)
        else:
            record_append(partition, header, now_ms)
