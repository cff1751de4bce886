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
  bumps the stored epoch if the marker's is newer, and an ABORT is recorded in the
  log's transaction index for read_committed fetches.

Each replica of a partition keeps its own :class:`ProducerState` (as each Kafka
replica does), applied by ``replication.py`` to every batch its log takes and
snapshotted with the log; Produce checks the leader's (:func:`check_append`).

Producer ids are handed out from blocks of 1000 (as Kafka's ``ProducerIdManager``
does); the end of the current block is persisted, so a restarted broker never
hands out an id twice.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..protocol.control import decode_marker
from ..protocol.errors import ErrorCode
from ..protocol.exceptions import CorruptRecordBatch
from ..protocol.records import BatchHeader
from .log.compaction import LastRecord

if TYPE_CHECKING:
    from .log import PartitionLog
    from .topics import Partition

Buffer = bytes | bytearray | memoryview

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


class ProducerState:
    """One replica's producer state (Kafka's ``ProducerStateManager``): what each
    producer id last wrote to this replica's log, and its open transactions.

    Every replica keeps its own, applied to each batch its log takes (as a Kafka
    follower does while it fetches), so a new leader already knows its producers
    and a truncated replica rebuilds only its own (:func:`recover_state`). The
    leader's state is the one Produce checks (``Partition.producers``).

    Attributes:
        producers: each producer's entry, by producer id.
        open_transactions: the first offset of each producer's open transaction
            (KIP-98); the smallest is the first unstable offset.
    """

    __slots__ = ("producers", "open_transactions")

    def __init__(self) -> None:
        self.producers: dict[int, ProducerEntry] = {}
        self.open_transactions: dict[int, int] = {}

    def first_unstable_offset(self) -> int | None:
        """Return the first offset of the oldest open transaction, or ``None``."""
        return min(self.open_transactions.values()) if self.open_transactions else None

    def apply(self, header: BatchHeader, batch: Buffer, now_ms: int) -> tuple[int, int, int] | None:
        """Apply one appended batch (its header carries the final offsets).

        A data batch updates its producer's entry and, if transactional, opens the
        producer's transaction; a COMMIT or ABORT marker closes it, and a marker
        with a newer epoch (a fenced or timed-out transaction) moves the producer
        to that epoch so that the old epoch's late batches are refused.

        Returns:
            ``(producer_id, first_offset, marker_offset)`` when an ABORT closed a
            transaction that wrote data here (for the transaction index), else
            ``None``.
        """
        pid = header.producer_id
        if pid < 0:
            return None
        if header.is_control:
            try:
                marker = decode_marker(batch)
            except CorruptRecordBatch as exc:
                _logger.warning("skipping a bad transaction marker at offset %d: %s",
                                header.base_offset, exc)
                return None
            if marker is None:
                return None
            entry = self.producers.get(pid)
            if entry is None or header.producer_epoch > entry.epoch:
                entry = self.producers[pid] = ProducerEntry(header.producer_epoch)
            entry.coordinator_epoch = marker.coordinator_epoch
            entry.last_timestamp = header.max_timestamp
            entry.last_append_ms = now_ms
            first = self.open_transactions.pop(pid, None)
            if first is not None and not marker.committed:
                return pid, first, header.base_offset
            return None
        entry = self.producers.get(pid)
        if entry is None or header.producer_epoch > entry.epoch:
            coordinator_epoch = entry.coordinator_epoch if entry is not None else -1
            entry = self.producers[pid] = ProducerEntry(
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
        if header.is_transactional and pid not in self.open_transactions:
            self.open_transactions[pid] = header.base_offset
        return None

    def expire(self, max_age_ms: int, now_ms: int) -> int:
        """Forget producers idle for ``max_age_ms`` (``producer.id.expiration.ms``),
        except those with an open transaction (Kafka keeps them); return how many."""
        doomed = [
            pid
            for pid, e in self.producers.items()
            if now_ms - e.last_append_ms >= max_age_ms and pid not in self.open_transactions
        ]
        for pid in doomed:
            del self.producers[pid]
        return len(doomed)

    def last_records(self) -> dict[int, LastRecord]:
        """Return each producer's last data offset and epoch, for the log cleaner
        (it keeps each active producer's last batch, as Kafka's cleaner does)."""
        return {
            pid: LastRecord(e.batches[-1].last_offset if e.batches else None, e.epoch)
            for pid, e in self.producers.items()
        }

    # -- snapshots (taken at segment rolls and clean shutdown, as Kafka does) ---------

    def snapshot(self) -> bytes:
        """Return this state as bytes for ``PartitionLog.write_snapshot``.

        streamtest's own JSON document, not Kafka's ``.snapshot`` schema: only this
        broker reads it back.
        """
        return json.dumps(
            {
                "v": 1,
                "producers": [
                    [pid, e.epoch, e.coordinator_epoch, e.last_timestamp, e.last_append_ms,
                     [[b.first_seq, b.last_seq, b.base_offset, b.last_offset] for b in e.batches]]
                    for pid, e in self.producers.items()
                ],
                "open": [[pid, first] for pid, first in self.open_transactions.items()],
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_snapshot(cls, data: bytes) -> ProducerState:
        """Rebuild a state from :meth:`snapshot`'s bytes.

        Raises:
            ValueError: the bytes are not such a snapshot.
        """
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("v") != 1:
            raise ValueError("not a producer-state snapshot of this broker")
        state = cls()
        for pid, epoch, coordinator_epoch, last_ts, last_ms, batches in doc["producers"]:
            entry = ProducerEntry(epoch, coordinator_epoch=coordinator_epoch,
                                  last_timestamp=last_ts, last_append_ms=last_ms)
            entry.batches.extend(BatchMetadata(*b) for b in batches)
            state.producers[pid] = entry
        state.open_transactions = {pid: first for pid, first in doc["open"]}
        return state


def recover_state(
    log: PartitionLog, ids: ProducerIdManager | None, now_ms: int
) -> ProducerState:
    """Rebuild a replica's producer state from its log: from the newest snapshot
    (if any) on, replaying the batches after it, as Kafka's ``loadProducerState``
    does on recovery and after truncation. ABORT markers found on the way are
    (re)recorded in the log's transaction index (a no-op when already there), and
    the log's first unstable offset is set.

    Producer ids found are reported to ``ids`` so that none is handed out again.
    """
    state = ProducerState()
    start = log.log_start_offset
    found = log.latest_snapshot()
    if found is not None and found[0] >= start:
        try:
            state = ProducerState.from_snapshot(found[1])
            start = found[0]
        except (ValueError, KeyError, TypeError) as exc:
            _logger.warning("ignoring the producer snapshot of %s at offset %d: %s",
                            log.directory, found[0], exc)
    for header, batch in log.iter_batches(start, log.log_end_offset):
        aborted = state.apply(header, batch, now_ms)
        if aborted is not None:
            pid, first, last = aborted
            log.add_aborted(pid, first, last, _lso_after(state, last))
    if ids is not None and state.producers:
        ids.seen(max(state.producers))
    log.first_unstable_offset = state.first_unstable_offset()
    return state


def _lso_after(state: ProducerState, marker_offset: int) -> int:
    """Return the last stable offset right after a marker at ``marker_offset``
    (Kafka records it with each aborted transaction)."""
    first = state.first_unstable_offset()
    return marker_offset + 1 if first is None else min(first, marker_offset + 1)


def record_aborted(log: PartitionLog, state: ProducerState, aborted: tuple[int, int, int]) -> None:
    """Record an aborted transaction returned by :meth:`ProducerState.apply` in
    ``log``'s transaction index (read_committed fetches list it, KIP-98).

    Raises:
        OSError: the index write failed.
    """
    pid, first, last = aborted
    log.add_aborted(pid, first, last, _lso_after(state, last))


def expire(partitions: Iterable[Partition], max_age_ms: int, now_ms: int) -> int:
    """Forget producers idle for ``max_age_ms`` on every replica of ``partitions``
    (``producer.id.expiration.ms``); return how many (replica, producer) entries
    were dropped."""
    return sum(
        state.expire(max_age_ms, now_ms) for p in partitions for state in p.states.values()
    )
