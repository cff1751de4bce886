"""The transaction coordinator (KIP-98), after Kafka's ``TransactionCoordinator``.

It owns one :class:`~.state.TransactionMetadata` per ``transactional.id`` and
serves InitProducerId (with a transactional id), AddPartitionsToTxn,
AddOffsetsToTxn, EndTxn and TxnOffsetCommit, plus the verification Produce does
for transactional batches (KIP-890 part 1: a batch for a partition that was not
added to the transaction is refused).

Differences from Kafka, all on the side of simplicity:

* Markers are written synchronously (see ``markers``), so ``PrepareCommit`` /
  ``PrepareAbort`` are never visible to clients and CONCURRENT_TRANSACTIONS is not
  returned in practice. InitProducerId for a transactional id whose transaction is
  ongoing fences and aborts it at once and answers with the twice-bumped epoch,
  where Kafka answers CONCURRENT_TRANSACTIONS and bumps again on the retry; the
  client ends up with the same epoch.
* The coordinator's epoch is 0 and never changes.
* State is kept in ``Storage`` meta documents instead of ``__transaction_state``.

Errors are Kafka error codes; the API modules map PRODUCER_FENCED to
INVALID_PRODUCER_EPOCH for request versions that predate KIP-588.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ...protocol.errors import ErrorCode
from ...protocol.records import BatchHeader
from .. import producers as producer_state
from ..clock import Clock, TimerHandle
from ..config import BrokerSettings
from ..producers import ProducerIdManager
from ..replication import ReplicaManager
from ..topics import Partition, TopicTable
from .markers import write_marker
from .state import (
    COMPLETED,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    TransactionMetadata,
    TxnState,
    is_epoch_exhausted,
)

if TYPE_CHECKING:
    from ..storage.metadata import MetaDocuments as Storage

log = logging.getLogger("streamtest.broker.txn")

_META_NAMESPACE = "transactions"
#: Commits a transaction's staged offsets to a group: ``(group_id, rows)``.
OffsetCommitter = Callable[[str, list[tuple[str, int, int, int, str | None]]], None]


class TransactionCoordinator:
    """Transaction state for every transactional id, on the cluster's loop.

    Args:
        settings: the broker settings (``transaction.*``, ``producer.id.*``).
        clock: the cluster's clock (timeouts, expiry, timestamps).
        producer_ids: hands out producer ids.
        topics: looks up the partitions a transaction writes to.
        replicas: appends the COMMIT and ABORT markers.
        commit_offsets: hands a committed transaction's offsets to their group.
        storage: persists transaction state (``None``: memory only).
    """

    def __init__(
        self,
        settings: BrokerSettings,
        clock: Clock,
        producer_ids: ProducerIdManager,
        topics: TopicTable,
        replicas: ReplicaManager,
        commit_offsets: OffsetCommitter,
        storage: Storage | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.producer_ids = producer_ids
        self.topics = topics
        self.replicas = replicas
        self.commit_offsets = commit_offsets
        self.storage = storage
        self.transactions: dict[str, TransactionMetadata] = {}
        self._timeouts: dict[str, TimerHandle] = {}
        self._expiry: TimerHandle | None = None
        self._running = False
        self._load()

    # -- settings ---------------------------------------------------------------

    def setting(self, name: str) -> int:
        """Return an integer broker setting (Kafka's name)."""
        return int(self.settings[name])

    # -- lifecycle --------------------------------------------------------------

    def _load(self) -> None:
        """Load persisted transactions and finish any caught between Prepare and
        Complete when the broker stopped (Kafka's coordinator does the same when it
        loads ``__transaction_state``)."""
        storage = self.storage
        if storage is None:
            return
        for txn_id, doc in storage.load_meta(_META_NAMESPACE).items():
            try:
                meta = TransactionMetadata.from_json(txn_id, doc)
            except (KeyError, ValueError, TypeError) as exc:
                log.error("ignoring unreadable transaction state of %r: %s", txn_id, exc)
                continue
            self.transactions[txn_id] = meta
            self.producer_ids.seen(meta.producer_id)
        for meta in list(self.transactions.values()):
            if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
                log.info(
                    "completing transaction %r left in %s", meta.transactional_id, meta.state.value
                )
                self._write_markers_and_complete(meta, meta.state == TxnState.PREPARE_COMMIT)
            elif meta.state == TxnState.PREPARE_EPOCH_FENCE:
                meta.transition_to(TxnState.PREPARE_ABORT, self.clock.now_ms())
                self._write_markers_and_complete(meta, False)

    def start(self) -> None:
        """Start the timers (transaction timeouts and producer-state expiry); call on
        the broker's loop once it is serving."""
        self._running = True
        for meta in self.transactions.values():
            if meta.state == TxnState.ONGOING:
                self._schedule_timeout(meta)
        self._schedule_expiry()

    def close(self) -> None:
        """Cancel every timer (the broker is stopping)."""
        for handle in self._timeouts.values():
            handle.cancel()
        self._timeouts.clear()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self._running = False

    def _save(self, meta: TransactionMetadata) -> None:
        if self.storage is not None:
            self.storage.put_meta(_META_NAMESPACE, meta.transactional_id, meta.to_json())

    # -- checks shared by the APIs --------------------------------------------------

    def _lookup(
        self, transactional_id: str | None, producer_id: int, producer_epoch: int
    ) -> tuple[TransactionMetadata | None, ErrorCode]:
        """Return the metadata of a client request, or the error Kafka gives it."""
        if not transactional_id:
            return None, ErrorCode.INVALID_REQUEST
        meta = self.transactions.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return None, ErrorCode.INVALID_PRODUCER_ID_MAPPING
        if meta.producer_epoch != producer_epoch:
            return None, ErrorCode.PRODUCER_FENCED
        if meta.state in (
            TxnState.PREPARE_COMMIT,
            TxnState.PREPARE_ABORT,
            TxnState.PREPARE_EPOCH_FENCE,
        ):
            return None, ErrorCode.CONCURRENT_TRANSACTIONS
        if meta.state == TxnState.DEAD:
            return None, ErrorCode.INVALID_PRODUCER_ID_MAPPING
        return meta, ErrorCode.NONE

    def _begin_if_needed(self, meta: TransactionMetadata) -> None:
        """Move to Ongoing (if not already there), starting the timeout clock."""
        if meta.state != TxnState.ONGOING:
            meta.clear_transaction()
            now = self.clock.now_ms()
            meta.transition_to(TxnState.ONGOING, now)
            meta.start_ms = now
            self._schedule_timeout(meta)

    # -- InitProducerId ---------------------------------------------------------------

    def init_producer_id(self, ctx: Any, request: Any) -> dict[str, Any]:
        """Serve InitProducerId for a transactional producer (called by k22).

        Returns:
            The response data for ``ctx.build``.
        """
        expected_pid = getattr(request, "producer_id", NO_PRODUCER_ID)
        expected_epoch = getattr(request, "producer_epoch", NO_PRODUCER_EPOCH)
        timeout_ms = int(request.transaction_timeout.total_seconds() * 1000)
        error, pid, epoch = self.handle_init_producer_id(
            request.transactional_id, timeout_ms, expected_pid, expected_epoch
        )
        if error == ErrorCode.PRODUCER_FENCED and ctx.version < 4:
            error = ErrorCode.INVALID_PRODUCER_EPOCH  # KIP-588: older clients lack the code
        return {
            "throttle_time": 0,
            "error_code": error,
            "producer_id": pid,
            "producer_epoch": epoch,
        }

    def handle_init_producer_id(
        self,
        transactional_id: str,
        timeout_ms: int,
        expected_producer_id: int = NO_PRODUCER_ID,
        expected_epoch: int = NO_PRODUCER_EPOCH,
    ) -> tuple[ErrorCode, int, int]:
        """Give a transactional producer its id and a bumped epoch, fencing older
        instances (KIP-98), and recognising a retry of its own bump (KIP-360).

        Returns:
            ``(error, producer_id, producer_epoch)``; the id and epoch are -1 on error.
        """
        fail = (NO_PRODUCER_ID, NO_PRODUCER_EPOCH)
        if not transactional_id:
            return ErrorCode.INVALID_REQUEST, *fail
        if not 0 < timeout_ms <= self.setting("transaction.max.timeout.ms"):
            return ErrorCode.INVALID_TRANSACTION_TIMEOUT, *fail
        now = self.clock.now_ms()
        meta = self.transactions.get(transactional_id)
        if meta is None:
            meta = TransactionMetadata(
                transactional_id,
                self.producer_ids.allocate(),
                timeout_ms=timeout_ms,
                last_update_ms=now,
            )
            self.transactions[transactional_id] = meta
        expected = expected_producer_id != NO_PRODUCER_ID
        if expected and not (
            meta.producer_epoch == NO_PRODUCER_EPOCH
            or expected_producer_id == meta.producer_id
            or (
                expected_producer_id == meta.last_producer_id and is_epoch_exhausted(expected_epoch)
            )
        ):
            return ErrorCode.PRODUCER_FENCED, *fail
        if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            return ErrorCode.CONCURRENT_TRANSACTIONS, *fail
        if meta.state == TxnState.ONGOING:
            # Fence the current producer and abort its transaction (Kafka's
            # prepareFenceProducerEpoch + endTransaction(ABORT, isFromClient=false)).
            self._fence_and_abort(meta)
        if meta.state not in COMPLETED:
            return ErrorCode.CONCURRENT_TRANSACTIONS, *fail
        if is_epoch_exhausted(meta.producer_epoch) and (
            not expected or expected_epoch == meta.producer_epoch
        ):
            # Rotate to a new producer id (KIP-360), epoch 0.
            meta.last_producer_id = meta.producer_id
            meta.last_producer_epoch = meta.producer_epoch if expected else NO_PRODUCER_EPOCH
            meta.producer_id = self.producer_ids.allocate()
            meta.producer_epoch = 0
        elif not expected:
            meta.producer_epoch += 1
            meta.last_producer_epoch = NO_PRODUCER_EPOCH
        elif meta.producer_epoch == NO_PRODUCER_EPOCH or expected_epoch == meta.producer_epoch:
            meta.last_producer_epoch = meta.producer_epoch
            meta.producer_epoch += 1
        elif expected_epoch != meta.last_producer_epoch:
            return ErrorCode.PRODUCER_FENCED, *fail
        # else: a retry of a bump the client never heard about; answer it again.
        meta.timeout_ms = timeout_ms
        meta.clear_transaction()
        meta.transition_to(TxnState.EMPTY, now)
        self._save(meta)
        return ErrorCode.NONE, meta.producer_id, meta.producer_epoch

    def _fence_and_abort(self, meta: TransactionMetadata) -> None:
        """Bump the epoch past the current producer's and abort its transaction."""
        meta.producer_epoch += 1
        meta.last_producer_epoch = NO_PRODUCER_EPOCH
        meta.transition_to(TxnState.PREPARE_EPOCH_FENCE, self.clock.now_ms())
        meta.transition_to(TxnState.PREPARE_ABORT, self.clock.now_ms())
        self._save(meta)
        self._write_markers_and_complete(meta, False)

    # -- AddPartitionsToTxn / AddOffsetsToTxn ------------------------------------------------

    def add_partitions(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        partitions: Iterable[tuple[str, int]],
        verify_only: bool = False,
    ) -> dict[tuple[str, int], ErrorCode]:
        """Add partitions to the producer's transaction, beginning it if needed.

        With ``verify_only`` (AddPartitionsToTxn v4+, KIP-890) nothing is added; each
        partition is NONE if it is in the ongoing transaction, else INVALID_TXN_STATE.

        Returns:
            An error code per partition. A partition of an unknown topic gets
            UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as
            Kafka's ``KafkaApis`` answers.
        """
        wanted = list(dict.fromkeys(partitions))
        unknown = {tp for tp in wanted if self.topics.partition(*tp) is None}
        if unknown and not verify_only:
            return {
                tp: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                if tp in unknown
                else ErrorCode.OPERATION_NOT_ATTEMPTED
                for tp in wanted
            }
        meta, error = self._lookup(transactional_id, producer_id, producer_epoch)
        if meta is None:
            return dict.fromkeys(wanted, error)
        if verify_only:
            ongoing = meta.state == TxnState.ONGOING
            return {
                tp: ErrorCode.NONE
                if ongoing and tp in meta.partitions
                else ErrorCode.INVALID_TXN_STATE
                for tp in wanted
            }
        if meta.state == TxnState.ONGOING and meta.partitions.issuperset(wanted):
            return dict.fromkeys(wanted, ErrorCode.NONE)
        self._begin_if_needed(meta)
        meta.partitions.update(wanted)
        meta.last_update_ms = self.clock.now_ms()
        self._save(meta)
        return dict.fromkeys(wanted, ErrorCode.NONE)

    def add_offsets(
        self, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str
    ) -> ErrorCode:
        """Add a consumer group's offsets to the transaction (AddOffsetsToTxn).

        Kafka adds the group's ``__consumer_offsets`` partition; we add the group.

        Returns:
            The error code for the response.
        """
        meta, error = self._lookup(transactional_id, producer_id, producer_epoch)
        if meta is None:
            return error
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        if meta.state == TxnState.ONGOING and group_id in meta.groups:
            return ErrorCode.NONE
        self._begin_if_needed(meta)
        meta.groups.add(group_id)
        meta.last_update_ms = self.clock.now_ms()
        self._save(meta)
        return ErrorCode.NONE

    # -- TxnOffsetCommit ------------------------------------------------------------------

    def txn_offset_commit(
        self,
        transactional_id: str,
        group_id: str,
        producer_id: int,
        producer_epoch: int,
        offsets: Iterable[tuple[str, int, int, int, str | None]],
    ) -> dict[tuple[str, int], ErrorCode]:
        """Stage offsets for ``group_id``; they reach the group when the transaction
        commits and are dropped if it aborts (KIP-98).

        Args:
            offsets: ``(topic, partition, offset, leader_epoch, metadata)`` rows.

        Returns:
            An error code per partition: INVALID_PRODUCER_ID_MAPPING or
            PRODUCER_FENCED for a stale producer, INVALID_TXN_STATE if the group was
            not added with AddOffsetsToTxn (the check KIP-890 introduced).
        """
        rows = list(offsets)
        keys = [(t, p) for t, p, *_ in rows]
        meta, error = self._lookup(transactional_id, producer_id, producer_epoch)
        if meta is None:
            return dict.fromkeys(keys, error)
        if meta.state != TxnState.ONGOING or group_id not in meta.groups:
            return dict.fromkeys(keys, ErrorCode.INVALID_TXN_STATE)
        staged = meta.pending_offsets.setdefault(group_id, {})
        for topic, partition, offset, leader_epoch, metadata in rows:
            staged[(topic, partition)] = (offset, leader_epoch, metadata)
        meta.last_update_ms = self.clock.now_ms()
        self._save(meta)
        return dict.fromkeys(keys, ErrorCode.NONE)

    def pending_offset_partitions(self, group_id: str) -> set[tuple[str, int]]:
        """Return partitions of ``group_id`` with offsets staged by an open transaction.

        OffsetFetch with ``require_stable`` (KIP-447) answers UNSTABLE_OFFSET_COMMIT
        for these until the transaction ends.
        """
        out: set[tuple[str, int]] = set()
        for meta in self.transactions.values():
            if meta.state == TxnState.ONGOING:
                out.update(meta.pending_offsets.get(group_id, {}))
        return out

    # -- EndTxn -----------------------------------------------------------------------

    def end_txn(
        self, transactional_id: str, producer_id: int, producer_epoch: int, committed: bool
    ) -> ErrorCode:
        """Commit or abort the producer's transaction (EndTxn).

        Returns:
            NONE once the markers are in every partition (and, for a commit, the
            staged offsets are in their groups). A retried EndTxn of a transaction
            that already ended the same way is NONE too; ending it the other way, or
            ending when none is open, is INVALID_TXN_STATE.
        """
        meta, error = self._lookup(transactional_id, producer_id, producer_epoch)
        if meta is None:
            return error
        if meta.state == TxnState.ONGOING:
            meta.transition_to(
                TxnState.PREPARE_COMMIT if committed else TxnState.PREPARE_ABORT,
                self.clock.now_ms(),
            )
            self._save(meta)
            self._write_markers_and_complete(meta, committed)
            return ErrorCode.NONE
        if meta.state == TxnState.COMPLETE_COMMIT and committed:
            return ErrorCode.NONE
        if meta.state == TxnState.COMPLETE_ABORT and not committed:
            return ErrorCode.NONE
        return ErrorCode.INVALID_TXN_STATE

    def _write_markers_and_complete(self, meta: TransactionMetadata, committed: bool) -> None:
        """From PrepareCommit/PrepareAbort: write the markers, hand committed offsets
        to the groups, and move to CompleteCommit/CompleteAbort."""
        self._cancel_timeout(meta.transactional_id)
        for topic, index in sorted(meta.partitions):
            partition = self.topics.partition(topic, index)
            if partition is None:
                continue  # the topic was deleted while the transaction was open
            write_marker(
                self.replicas,
                self.clock,
                partition,
                meta.producer_id,
                meta.producer_epoch,
                committed,
            )
        if committed and meta.pending_offsets:
            self._commit_offsets(meta)
        meta.transition_to(
            TxnState.COMPLETE_COMMIT if committed else TxnState.COMPLETE_ABORT, self.clock.now_ms()
        )
        meta.clear_transaction()
        self._save(meta)

    def _commit_offsets(self, meta: TransactionMetadata) -> None:
        for group_id, staged in meta.pending_offsets.items():
            self.commit_offsets(
                group_id,
                [
                    (topic, partition, offset, leader_epoch, metadata)
                    for (topic, partition), (offset, leader_epoch, metadata) in sorted(
                        staged.items()
                    )
                ],
            )

    # -- Produce verification --------------------------------------------------------------

    def verify_produce(
        self, transactional_id: str | None, header: BatchHeader, partition: Partition
    ) -> tuple[ErrorCode, str | None]:
        """Check a transactional batch against its transaction before it is appended
        (KIP-890 part 1: Kafka verifies the partition was added to the transaction).

        Returns:
            ``(NONE, None)`` or an error with a message: INVALID_PRODUCER_EPOCH for a
            fenced epoch (what Kafka answers Produce with since 2.7), INVALID_TXN_STATE
            when there is no such transaction or the partition is not in it.
        """
        meta = self.transactions.get(transactional_id) if transactional_id else None
        if meta is None or meta.producer_id != header.producer_id:
            return ErrorCode.INVALID_TXN_STATE, (
                f"producer {header.producer_id} has no transaction for "
                f"transactional id {transactional_id!r}"
            )
        if header.producer_epoch < meta.producer_epoch:
            return ErrorCode.INVALID_PRODUCER_EPOCH, (
                f"producer epoch {header.producer_epoch} is fenced by {meta.producer_epoch}"
            )
        if (
            header.producer_epoch != meta.producer_epoch
            or meta.state != TxnState.ONGOING
            or partition.key not in meta.partitions
        ):
            return ErrorCode.INVALID_TXN_STATE, (
                f"{partition.topic}-{partition.index} was not added to the transaction of "
                f"{transactional_id!r} (AddPartitionsToTxn)"
            )
        return ErrorCode.NONE, None

    # -- timers ---------------------------------------------------------------------------

    def _schedule_timeout(self, meta: TransactionMetadata) -> None:
        if not self._running:
            return
        self._cancel_timeout(meta.transactional_id)
        delay = max(0.0, (meta.start_ms + meta.timeout_ms - self.clock.now_ms()) / 1000)
        self._timeouts[meta.transactional_id] = self.clock.call_later(
            delay,
            self._on_timeout,
            meta.transactional_id,
            meta.producer_id,
            meta.producer_epoch,
            meta.start_ms,
        )

    def _cancel_timeout(self, transactional_id: str) -> None:
        handle = self._timeouts.pop(transactional_id, None)
        if handle is not None:
            handle.cancel()

    def _on_timeout(self, transactional_id: str, producer_id: int, epoch: int, start: int) -> None:
        """Abort a transaction that outlived ``transaction.timeout.ms``, fencing its
        producer as Kafka's ``abortTimedOutTransactions`` does."""
        self._timeouts.pop(transactional_id, None)
        meta = self.transactions.get(transactional_id)
        if (
            meta is None
            or meta.state != TxnState.ONGOING
            or (meta.producer_id, meta.producer_epoch, meta.start_ms) != (producer_id, epoch, start)
        ):
            return
        log.info(
            "aborting transaction %r: it outlived transaction.timeout.ms=%d",
            transactional_id,
            meta.timeout_ms,
        )
        try:
            self._fence_and_abort(meta)
        except Exception:
            log.exception("aborting timed-out transaction %r failed", transactional_id)

    def _schedule_expiry(self) -> None:
        if not self._running:
            return
        interval = self.setting("producer.id.expiration.check.interval.ms") / 1000
        self._expiry = self.clock.call_later(interval, self._on_expiry)

    def _on_expiry(self) -> None:
        try:
            self.expire(self.clock.now_ms())
        except Exception:
            log.exception("producer state expiry failed")
        self._schedule_expiry()

    def expire(self, now: int) -> tuple[int, int]:
        """Forget idle producers (``producer.id.expiration.ms``) and transactional ids
        idle in a completed state (``transactional.id.expiration.ms``).

        Returns:
            ``(partition producer entries dropped, transactional ids dropped)``.
        """
        dropped = producer_state.expire(
            self.topics.partitions(), self.setting("producer.id.expiration.ms"), now
        )
        max_age = self.setting("transactional.id.expiration.ms")
        expired = [
            meta
            for meta in self.transactions.values()
            if meta.state in COMPLETED and now - meta.last_update_ms >= max_age
        ]
        storage = self.storage
        for meta in expired:
            meta.transition_to(TxnState.DEAD, now)
            del self.transactions[meta.transactional_id]
            if storage is not None:
                storage.put_meta(_META_NAMESPACE, meta.transactional_id, None)
        return dropped, len(expired)
