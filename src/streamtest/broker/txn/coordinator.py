"""The transaction coordinator (KIP-98), after Kafka's ``TransactionCoordinator``.

It owns one :class:`~.state.TransactionMetadata` per ``transactional.id`` and
serves InitProducerId (with a transactional id), AddPartitionsToTxn,
AddOffsetsToTxn, EndTxn and TxnOffsetCommit, plus the verification Produce does
for transactional batches (KIP-890 part 1: a batch for a partition that was not
added to the transaction is refused).

State lives in ``__transaction_state``, in Kafka's schemas (``records``): every
state change is appended to the transactional id's partition through the cluster's
replicated append path (:class:`TransactionLog`) before it takes effect, as Kafka's
``TransactionStateManager.appendTransactionToLog`` precedes ``completeTransitionTo``;
a change that cannot be logged is undone and the request gets the error Kafka maps
the append failure to (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR). On start the
coordinator rebuilds itself from the topic and finishes transactions left in
PrepareCommit / PrepareAbort.

Differences from Kafka, all on the side of simplicity:

* Markers are written synchronously (see ``markers``), so ``PrepareCommit`` /
  ``PrepareAbort`` are visible to clients (as CONCURRENT_TRANSACTIONS) only while a
  marker or the Complete record cannot be written and is being retried. InitProducerId
  for a transactional id whose transaction is ongoing fences and aborts it at once
  and answers with the twice-bumped epoch, where Kafka answers
  CONCURRENT_TRANSACTIONS and bumps again on the retry; the client ends up with the
  same epoch.
* Offsets staged by TxnOffsetCommit, and the groups added by AddOffsetsToTxn, are
  kept in a journal beside the topic (:class:`StagedOffsetsJournal`, the broker's
  metadata journal), not in ``__consumer_offsets``: Kafka's group coordinator writes
  them there as transactional records which the COMMIT/ABORT marker in the group's
  ``__consumer_offsets`` partition settles. Here no marker is written to
  ``__consumer_offsets``; the group coordinator receives the offsets when the
  transaction commits (``commit_offsets``). The ``TransactionLogValue`` still lists
  each added group's ``__consumer_offsets`` partition, as Kafka's does.
* ``lastProducerEpoch`` is not in ``TransactionLogValue`` (Kafka loses it on a
  reload as well), so a KIP-360 retry of InitProducerId is recognised across a
  restart only as Kafka recognises it across a coordinator move.
* The coordinator's epoch is 0 and never changes.

Errors are Kafka error codes; the API modules map PRODUCER_FENCED to
INVALID_PRODUCER_EPOCH for request versions that predate KIP-588.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from ...protocol.errors import ErrorCode
from ...protocol.exceptions import InvalidFrame
from ...protocol.records import BatchHeader
from .. import producers as producer_state
from ..clock import Clock, TimerHandle
from ..config import BrokerSettings
from ..producers import ProducerIdManager
from ..replication import ReplicaManager
from ..topics import Partition, TopicTable
from . import records
from .markers import write_marker
from .state import (
    COMPLETED,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    TransactionMetadata,
    TxnState,
    is_epoch_exhausted,
)

log = logging.getLogger("streamtest.broker.txn")

#: Commits a transaction's staged offsets to a group: ``(group_id, rows)``.
OffsetCommitter = Callable[[str, list[tuple[str, int, int, int, str | None]]], None]
#: Kafka lists a group added with AddOffsetsToTxn as its offsets partition.
CONSUMER_OFFSETS = "__consumer_offsets"
#: Seconds before a marker or record that could not be written is tried again
#: (Kafka's marker channel retries after ``retry.backoff.ms``, 100 ms).
RETRY_BACKOFF_S = 0.1
_PREPARED = (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT)
#: States in which a transaction is open (its staged offsets are kept).
_OPEN = frozenset({TxnState.ONGOING, *_PREPARED})


class TransactionLog(Protocol):
    """The ``__transaction_state`` topic, as the coordinator writes and reads it."""

    def append(self, transactional_id: str, records: list[tuple[bytes, bytes | None]]) -> ErrorCode:
        """Append key/value records (``None``: a tombstone) to ``transactional_id``'s
        partition.

        Returns:
            NONE once the partition's leader stored them, else the error the
            client's request gets: COORDINATOR_NOT_AVAILABLE (no leader, fewer
            in-sync replicas than ``min.insync.replicas``) or NOT_COORDINATOR (the
            storage refused the write), as Kafka maps a failed append.
        """
        ...

    def replay(self) -> Iterable[tuple[bytes, bytes | None]]:
        """Yield every record of the topic, each partition in offset order."""
        ...


class StagedOffsetsJournal(Protocol):
    """Where the groups and TxnOffsetCommit offsets of open transactions outlive a
    restart (they are not part of ``TransactionLogValue``; see the module notes)."""

    def load(self) -> Mapping[str, Any]:
        """Return every transactional id's document."""
        ...

    def put(self, transactional_id: str, doc: Any) -> None:
        """Store ``doc`` for ``transactional_id`` (``None`` deletes it).

        Raises:
            OSError: the write failed.
        """
        ...


class TransactionCoordinator:
    """Transaction state for every transactional id, on the cluster's loop.

    Args:
        settings: the broker settings (``transaction.*``, ``producer.id.*``).
        clock: the cluster's clock (timeouts, expiry, timestamps).
        producer_ids: hands out producer ids.
        topics: looks up the partitions a transaction writes to.
        replicas: appends the COMMIT and ABORT markers.
        commit_offsets: hands a committed transaction's offsets to their group.
        log: the ``__transaction_state`` topic (``None``: keep nothing there).
        staged: the journal of staged offsets (``None``: memory only).
        group_partition: the ``__consumer_offsets`` partition of a group, listed
            in the transaction's record for a group added with AddOffsetsToTxn
            (``None``, or a callable returning ``None``: not listed).
    """

    def __init__(
        self,
        settings: BrokerSettings,
        clock: Clock,
        producer_ids: ProducerIdManager,
        topics: TopicTable,
        replicas: ReplicaManager,
        commit_offsets: OffsetCommitter,
        log: TransactionLog | None = None,
        staged: StagedOffsetsJournal | None = None,
        group_partition: Callable[[str], int | None] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.producer_ids = producer_ids
        self.topics = topics
        self.replicas = replicas
        self.commit_offsets = commit_offsets
        self.log = log
        self.staged = staged
        self.group_partition = group_partition
        self.transactions: dict[str, TransactionMetadata] = {}
        self._timeouts: dict[str, TimerHandle] = {}
        self._retries: dict[str, TimerHandle] = {}
        #: Transactional ids with a document in the staged-offsets journal.
        self._journaled: set[str] = set()
        self._expiry: TimerHandle | None = None
        self._running = False
        self._load()

    # -- settings ---------------------------------------------------------------

    def setting(self, name: str) -> int:
        """Return an integer broker setting (Kafka's name)."""
        return int(self.settings[name])

    # -- lifecycle --------------------------------------------------------------

    def _load(self) -> None:
        """Rebuild every transactional id from ``__transaction_state`` (the last
        record of each id wins, a tombstone removes it), take the staged offsets of
        open transactions from the journal, and finish any transaction caught
        between Prepare and Complete when the broker stopped (Kafka's coordinator
        does the same when it loads a ``__transaction_state`` partition)."""
        if self.log is not None:
            for key, value in self.log.replay():
                try:
                    self._apply(key, value)
                except InvalidFrame as exc:
                    log.error("skipping an unreadable __transaction_state record: %s", exc)
        for meta in self.transactions.values():
            self.producer_ids.seen(meta.producer_id)
            if meta.last_producer_id != NO_PRODUCER_ID:
                self.producer_ids.seen(meta.last_producer_id)
        self._load_staged()
        for meta in list(self.transactions.values()):
            if meta.state == TxnState.PREPARE_EPOCH_FENCE:
                # Kafka never logs this state; a record written by another broker
                # that has it is finished as the abort it was heading for.
                meta.transition_to(TxnState.PREPARE_ABORT, self.clock.now_ms())
            if meta.state in _PREPARED:
                log.info(
                    "completing transaction %r left in %s", meta.transactional_id, meta.state.value
                )
                self._write_markers_and_complete(meta, meta.state == TxnState.PREPARE_COMMIT)

    def _apply(self, key: bytes, value: bytes | None) -> None:
        """Apply one ``__transaction_state`` record to the cache.

        Raises:
            InvalidFrame: the key or value cannot be decoded.
        """
        transactional_id = records.decode_transaction_log_key(key)
        if transactional_id is None:
            return
        if value is None:
            self.transactions.pop(transactional_id, None)
            return
        v = records.decode_transaction_log_value(value)
        state = v.state
        if state == TxnState.DEAD:
            self.transactions.pop(transactional_id, None)
            return
        self.transactions[transactional_id] = TransactionMetadata(
            transactional_id,
            v.producer_id,
            producer_epoch=v.producer_epoch,
            # Kafka's records carry the producer id before each change: it differs
            # from the current one only after a rotation (KIP-360).
            last_producer_id=(
                v.previous_producer_id
                if v.previous_producer_id != v.producer_id
                else NO_PRODUCER_ID
            ),
            timeout_ms=v.transaction_timeout_ms,
            state=state,
            # Groups come back from the staged-offsets journal, not from their
            # __consumer_offsets partitions.
            partitions={tp for tp in v.partitions() if tp[0] != CONSUMER_OFFSETS},
            start_ms=v.transaction_start_timestamp_ms if state in _OPEN else -1,
            last_update_ms=v.transaction_last_update_timestamp_ms,
        )

    def _load_staged(self) -> None:
        if self.staged is None:
            return
        for transactional_id, doc in self.staged.load().items():
            meta = self.transactions.get(transactional_id)
            applied = False
            if meta is not None and meta.state in _OPEN:
                try:
                    applied = meta.restore_staged_offsets(doc)
                except (KeyError, ValueError, TypeError) as exc:
                    log.error("ignoring unreadable staged offsets of %r: %s", transactional_id, exc)
            if applied:
                self._journaled.add(transactional_id)
                continue
            try:
                self.staged.put(transactional_id, None)  # a finished transaction's
            except OSError as exc:
                log.error("could not drop the staged offsets of %r: %s", transactional_id, exc)

    def start(self) -> None:
        """Start the timers (transaction timeouts and producer-state expiry) and
        retry the completions that failed while loading; call on the broker's loop
        once it is serving."""
        self._running = True
        for meta in list(self.transactions.values()):
            if meta.state == TxnState.ONGOING:
                self._schedule_timeout(meta)
            elif meta.state in _PREPARED:
                self._retry_later(meta.transactional_id)
        self._schedule_expiry()

    def close(self) -> None:
        """Cancel every timer (the broker is stopping)."""
        for handle in (*self._timeouts.values(), *self._retries.values()):
            handle.cancel()
        self._timeouts.clear()
        self._retries.clear()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self._running = False

    # -- writing __transaction_state ---------------------------------------------------

    def _write(
        self, meta: TransactionMetadata, previous_producer_id: int, start_ms: int | None = None
    ) -> ErrorCode:
        """Append ``meta``'s state to ``__transaction_state``.

        Args:
            previous_producer_id: the producer id before this change (Kafka's
                ``PreviousProducerId``).
            start_ms: the start timestamp to record, if not ``meta.start_ms`` (a
                completed transaction keeps its start, as in Kafka).

        Returns:
            NONE, or the error of the failed append (the caller undoes the change).
        """
        if self.log is None:
            return ErrorCode.NONE
        partitions = None
        if meta.state != TxnState.EMPTY:
            partitions = records.group_partitions(meta.partitions | self._group_partitions(meta))
        value = records.TransactionLogValue(
            producer_id=meta.producer_id,
            producer_epoch=meta.producer_epoch,
            transaction_timeout_ms=meta.timeout_ms,
            transaction_status=records.STATUS[meta.state],
            transaction_partitions=partitions,
            transaction_last_update_timestamp_ms=meta.last_update_ms,
            transaction_start_timestamp_ms=meta.start_ms if start_ms is None else start_ms,
            previous_producer_id=previous_producer_id,
        )
        key = records.transaction_log_key(meta.transactional_id)
        error = self.log.append(
            meta.transactional_id, [(key, records.encode_transaction_log_value(value))]
        )
        if error != ErrorCode.NONE:
            log.warning(
                "could not log transaction %r as %s: %s",
                meta.transactional_id,
                meta.state.value,
                error.name,
            )
        return error

    def _group_partitions(self, meta: TransactionMetadata) -> set[tuple[str, int]]:
        if self.group_partition is None:
            return set()
        out = set()
        for group_id in meta.groups:
            index = self.group_partition(group_id)
            if index is not None:
                out.add((CONSUMER_OFFSETS, index))
        return out

    def _journal(self, meta: TransactionMetadata) -> ErrorCode:
        """Store the groups and staged offsets of ``meta``'s open transaction, or
        drop them once it has ended.

        Returns:
            NONE, or NOT_COORDINATOR if the journal could not be written (what
            Kafka answers when its log refuses a write, KAFKA_STORAGE_ERROR).
        """
        if self.staged is None:
            return ErrorCode.NONE
        txn_id = meta.transactional_id
        keep = meta.state in _OPEN and bool(meta.groups or meta.pending_offsets)
        if not keep and txn_id not in self._journaled:
            return ErrorCode.NONE
        try:
            self.staged.put(txn_id, meta.staged_offsets_json() if keep else None)
        except OSError as exc:
            log.error("could not journal the staged offsets of %r: %s", txn_id, exc)
            return ErrorCode.NOT_COORDINATOR
        if keep:
            self._journaled.add(txn_id)
        else:
            self._journaled.discard(txn_id)
        return ErrorCode.NONE

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
        """Move to Ongoing (if not already there); the caller starts the timeout
        clock once the change is logged."""
        if meta.state != TxnState.ONGOING:
            meta.clear_transaction()
            now = self.clock.now_ms()
            meta.transition_to(TxnState.ONGOING, now)
            meta.start_ms = now

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
        created = meta is None
        if meta is None:
            # Kept only once its first record is logged.
            meta = TransactionMetadata(
                transactional_id,
                self.producer_ids.allocate(),
                timeout_ms=timeout_ms,
                last_update_ms=now,
            )
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
            error = self._fence_and_abort(meta)
            if error != ErrorCode.NONE:
                return error, *fail
        if meta.state not in COMPLETED:
            return ErrorCode.CONCURRENT_TRANSACTIONS, *fail
        before = meta.copy()
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
        error = self._write(meta, before.producer_id)
        if error != ErrorCode.NONE:
            meta.restore(before)
            return error, *fail
        if created:
            self.transactions[transactional_id] = meta
        return ErrorCode.NONE, meta.producer_id, meta.producer_epoch

    def _fence_and_abort(self, meta: TransactionMetadata) -> ErrorCode:
        """Bump the epoch past the current producer's and abort its transaction.

        Returns:
            NONE once PrepareAbort is logged (the markers follow), else the error
            of the failed append, with ``meta`` unchanged.
        """
        before = meta.copy()
        meta.producer_epoch += 1
        meta.last_producer_epoch = NO_PRODUCER_EPOCH
        meta.transition_to(TxnState.PREPARE_EPOCH_FENCE, self.clock.now_ms())
        # Kafka logs only the PrepareAbort that follows the fence, with the new epoch.
        meta.transition_to(TxnState.PREPARE_ABORT, self.clock.now_ms())
        error = self._write(meta, before.producer_id)
        if error != ErrorCode.NONE:
            meta.restore(before)
            return error
        self._write_markers_and_complete(meta, False)
        return ErrorCode.NONE

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
        before = meta.copy()
        self._begin_if_needed(meta)
        meta.partitions.update(wanted)
        meta.last_update_ms = self.clock.now_ms()
        error = self._write(meta, before.producer_id)
        if error != ErrorCode.NONE:
            meta.restore(before)
            return dict.fromkeys(wanted, error)
        if before.state != TxnState.ONGOING:
            self._schedule_timeout(meta)
        return dict.fromkeys(wanted, ErrorCode.NONE)

    def add_offsets(
        self, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str
    ) -> ErrorCode:
        """Add a consumer group's offsets to the transaction (AddOffsetsToTxn).

        Kafka adds the group's ``__consumer_offsets`` partition; we add the group
        (journaled with the staged offsets) and log that partition as Kafka does.

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
        before = meta.copy()
        self._begin_if_needed(meta)
        meta.groups.add(group_id)
        meta.last_update_ms = self.clock.now_ms()
        error = self._write(meta, before.producer_id)
        if error == ErrorCode.NONE:
            error = self._journal(meta)
        if error != ErrorCode.NONE:
            meta.restore(before)
            return error
        if before.state != TxnState.ONGOING:
            self._schedule_timeout(meta)
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
        commits and are dropped if it aborts (KIP-98). They are journaled, not
        logged: Kafka's ``TransactionLogValue`` has no place for them (its group
        coordinator writes them to ``__consumer_offsets`` as transactional records).

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
        before = {g: dict(staged) for g, staged in meta.pending_offsets.items()}
        staged = meta.pending_offsets.setdefault(group_id, {})
        for topic, partition, offset, leader_epoch, metadata in rows:
            staged[(topic, partition)] = (offset, leader_epoch, metadata)
        error = self._journal(meta)
        if error != ErrorCode.NONE:
            meta.pending_offsets = before
        return dict.fromkeys(keys, error)

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
            NONE once PrepareCommit / PrepareAbort is logged; the markers (and, for
            a commit, the staged offsets) follow at once, or are retried until they
            can be written. A retried EndTxn of a transaction that already ended
            the same way is NONE too; ending it the other way, or ending when none
            is open, is INVALID_TXN_STATE. COORDINATOR_NOT_AVAILABLE or
            NOT_COORDINATOR when the decision could not be logged.
        """
        meta, error = self._lookup(transactional_id, producer_id, producer_epoch)
        if meta is None:
            return error
        if meta.state == TxnState.ONGOING:
            before = meta.copy()
            meta.transition_to(
                TxnState.PREPARE_COMMIT if committed else TxnState.PREPARE_ABORT,
                self.clock.now_ms(),
            )
            # The decision is logged before any marker is written: a broker that
            # stops after this point finishes the transaction when it starts again.
            error = self._write(meta, before.producer_id)
            if error != ErrorCode.NONE:
                meta.restore(before)
                return error
            self._write_markers_and_complete(meta, committed)
            return ErrorCode.NONE
        if meta.state == TxnState.COMPLETE_COMMIT and committed:
            return ErrorCode.NONE
        if meta.state == TxnState.COMPLETE_ABORT and not committed:
            return ErrorCode.NONE
        return ErrorCode.INVALID_TXN_STATE

    def _write_markers_and_complete(self, meta: TransactionMetadata, committed: bool) -> None:
        """From PrepareCommit/PrepareAbort: write the markers, hand committed offsets
        to the groups, and log CompleteCommit/CompleteAbort.

        A partition is dropped from the transaction once its marker is written, as
        Kafka drops it when the partition acknowledges WriteTxnMarkers. A marker or
        the Complete record that cannot be written leaves the transaction prepared
        and is retried after :data:`RETRY_BACKOFF_S`.
        """
        txn_id = meta.transactional_id
        self._cancel_timeout(txn_id)
        for topic, index in sorted(meta.partitions):
            partition = self.topics.partition(topic, index)
            if partition is not None:  # else the topic was deleted meanwhile
                try:
                    write_marker(
                        self.replicas,
                        self.clock,
                        partition,
                        meta.producer_id,
                        meta.producer_epoch,
                        committed,
                    )
                except (OSError, LookupError) as exc:
                    log.warning(
                        "could not write the %s marker of %r to %s-%d (%s); retrying",
                        "COMMIT" if committed else "ABORT",
                        txn_id,
                        topic,
                        index,
                        exc,
                    )
                    self._retry_later(txn_id)
                    return
            meta.partitions.discard((topic, index))
        if committed and meta.pending_offsets:
            self._commit_offsets(meta)
            meta.pending_offsets = {}
        before = meta.copy()
        meta.transition_to(
            TxnState.COMPLETE_COMMIT if committed else TxnState.COMPLETE_ABORT, self.clock.now_ms()
        )
        meta.clear_transaction()
        if self._write(meta, before.producer_id, start_ms=before.start_ms) != ErrorCode.NONE:
            meta.restore(before)
            self._retry_later(txn_id)
            return
        self._journal(meta)  # drops the staged offsets; a failure leaves a stale entry

    def _retry_later(self, transactional_id: str) -> None:
        """Try to finish a prepared transaction again after :data:`RETRY_BACKOFF_S`
        (at :meth:`start` while the broker is not serving yet)."""
        if not self._running or transactional_id in self._retries:
            return
        self._retries[transactional_id] = self.clock.call_later(
            RETRY_BACKOFF_S, self._on_retry, transactional_id
        )

    def _on_retry(self, transactional_id: str) -> None:
        self._retries.pop(transactional_id, None)
        meta = self.transactions.get(transactional_id)
        if meta is None or meta.state not in _PREPARED:
            return
        try:
            self._write_markers_and_complete(meta, meta.state == TxnState.PREPARE_COMMIT)
        except Exception:
            log.exception("completing transaction %r failed", transactional_id)
            self._retry_later(transactional_id)

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
            error = self._fence_and_abort(meta)
        except Exception:
            log.exception("aborting timed-out transaction %r failed", transactional_id)
            return
        if error != ErrorCode.NONE and self._running:
            # PrepareAbort could not be logged: look again later, as Kafka's
            # abortTimedOutTransactions does on its next run.
            self._timeouts[transactional_id] = self.clock.call_later(
                RETRY_BACKOFF_S, self._on_timeout, transactional_id, producer_id, epoch, start
            )

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
        removed = 0
        for meta in expired:
            # A tombstone, then the cache entry (Kafka's removeExpiredTransactionalIds);
            # an id whose tombstone could not be written is tried on the next run.
            txn_id = meta.transactional_id
            if self.log is not None:
                key = records.transaction_log_key(txn_id)
                if self.log.append(txn_id, [(key, None)]) != ErrorCode.NONE:
                    continue
            meta.transition_to(TxnState.DEAD, now)
            del self.transactions[txn_id]
            removed += 1
        return dropped, removed
