"""Transaction metadata and its state machine, as data (KIP-98, h11 style).

One :class:`TransactionMetadata` per ``transactional.id``, named after Kafka's
``TransactionMetadata``. Its states and their legal predecessors mirror Kafka's
``TransactionState`` exactly; :meth:`TransactionMetadata.transition_to` refuses
anything else, so an illegal move is a bug in the coordinator, not a client error.

Our coordinator writes markers synchronously, so ``PrepareCommit`` and
``PrepareAbort`` last only while markers are being appended (they are logged to
``__transaction_state`` first, so a broker killed in between completes the
transaction on restart), or until a marker that could not be written is retried.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
INT16_MAX = 2**15 - 1


class TxnState(enum.Enum):
    """Kafka's transaction states; the values are the names Kafka's tools print."""

    EMPTY = "Empty"
    ONGOING = "Ongoing"
    PREPARE_COMMIT = "PrepareCommit"
    PREPARE_ABORT = "PrepareAbort"
    COMPLETE_COMMIT = "CompleteCommit"
    COMPLETE_ABORT = "CompleteAbort"
    DEAD = "Dead"
    PREPARE_EPOCH_FENCE = "PrepareEpochFence"


S = TxnState
#: Legal predecessors of each state (Kafka's ``TransactionState.validPreviousStates``).
VALID_PREVIOUS: dict[TxnState, frozenset[TxnState]] = {
    S.EMPTY: frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.ONGOING: frozenset({S.ONGOING, S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.PREPARE_COMMIT: frozenset({S.ONGOING}),
    S.PREPARE_ABORT: frozenset({S.ONGOING, S.PREPARE_EPOCH_FENCE}),
    S.COMPLETE_COMMIT: frozenset({S.PREPARE_COMMIT}),
    S.COMPLETE_ABORT: frozenset({S.PREPARE_ABORT}),
    S.DEAD: frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.PREPARE_EPOCH_FENCE: frozenset({S.ONGOING}),
}
#: States in which a new transaction may begin, or the producer re-initialise.
COMPLETED = frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT})


class IllegalTransition(RuntimeError):
    """The coordinator tried a state change Kafka's state machine forbids."""


def is_epoch_exhausted(epoch: int) -> bool:
    """Return whether ``epoch`` cannot be bumped twice more (Kafka reserves the
    last value so a fencing bump is always possible), so a new producer id is due."""
    return epoch >= INT16_MAX - 1


#: One pending transactional offset: (offset, leader_epoch, metadata).
PendingOffset = tuple[int, int, "str | None"]


@dataclass(slots=True)
class TransactionMetadata:
    """The coordinator's record of one transactional id.

    Attributes:
        transactional_id: the producer's ``transactional.id``.
        producer_id: the current producer id.
        producer_epoch: the current epoch; requests with another epoch are fenced.
        last_producer_id: the producer id before the last rotation (KIP-360).
        last_producer_epoch: the epoch before the last client-requested bump, for
            recognising a retried InitProducerId (KIP-360).
        timeout_ms: ``transaction.timeout.ms`` from InitProducerId.
        state: where the transaction is in its life.
        partitions: partitions added in the current transaction.
        groups: consumer groups added with AddOffsetsToTxn.
        pending_offsets: TxnOffsetCommit offsets by group, then (topic, partition);
            they reach the group only when the transaction commits.
        start_ms: when the current transaction began, else -1.
        last_update_ms: when this record last changed (transactional id expiry).
    """

    transactional_id: str
    producer_id: int
    producer_epoch: int = NO_PRODUCER_EPOCH
    last_producer_id: int = NO_PRODUCER_ID
    last_producer_epoch: int = NO_PRODUCER_EPOCH
    timeout_ms: int = 60_000
    state: TxnState = TxnState.EMPTY
    partitions: set[tuple[str, int]] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    pending_offsets: dict[str, dict[tuple[str, int], PendingOffset]] = field(default_factory=dict)
    start_ms: int = -1
    last_update_ms: int = 0

    def transition_to(self, state: TxnState, now_ms: int) -> None:
        """Move to ``state``.

        Raises:
            IllegalTransition: ``state`` may not follow the current state.
        """
        if self.state not in VALID_PREVIOUS[state]:
            raise IllegalTransition(
                f"transactional id {self.transactional_id!r}: {self.state.value} -> "
                f"{state.value} is not a legal transition"
            )
        self.state = state
        self.last_update_ms = now_ms

    def clear_transaction(self) -> None:
        """Forget the partitions, groups and offsets of the finished transaction."""
        self.partitions = set()
        self.groups = set()
        self.pending_offsets = {}
        self.start_ms = -1

    # -- snapshots (a state change that could not be logged is undone) ---------------

    def copy(self) -> TransactionMetadata:
        """Return an independent copy (the sets and the staged offsets are copied too)."""
        return dataclasses.replace(
            self,
            partitions=set(self.partitions),
            groups=set(self.groups),
            pending_offsets={g: dict(rows) for g, rows in self.pending_offsets.items()},
        )

    def restore(self, snapshot: TransactionMetadata) -> None:
        """Take every field back from ``snapshot`` (a :meth:`copy` taken earlier)."""
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(snapshot, f.name))

    # -- the staged-offsets journal document ------------------------------------------

    def staged_offsets_json(self) -> dict[str, Any]:
        """Return the groups and staged offsets of the current transaction as a
        JSON-serialisable document (the inverse of :meth:`restore_staged_offsets`).

        They are not part of Kafka's ``TransactionLogValue``: Kafka writes staged
        offsets to ``__consumer_offsets`` as transactional records (see
        ``coordinator``), so they are journaled beside ``__transaction_state``.
        """
        return {
            "producer_id": self.producer_id,
            "producer_epoch": self.producer_epoch,
            "groups": sorted(self.groups),
            "offsets": {
                group: [[t, p, off, le, md] for (t, p), (off, le, md) in sorted(rows.items())]
                for group, rows in sorted(self.pending_offsets.items())
            },
        }

    def restore_staged_offsets(self, doc: dict[str, Any]) -> bool:
        """Take the groups and staged offsets from a :meth:`staged_offsets_json`
        document if it belongs to the current producer id and epoch.

        Returns:
            Whether the document was applied (``False``: it is stale).

        Raises:
            KeyError, ValueError, TypeError: the document is malformed.
        """
        if (int(doc["producer_id"]), int(doc["producer_epoch"])) != (
            self.producer_id,
            self.producer_epoch,
        ):
            return False
        groups = {str(g) for g in doc["groups"]}
        offsets = {
            str(group): {(str(t), int(p)): (int(off), int(le), md) for t, p, off, le, md in rows}
            for group, rows in doc["offsets"].items()
        }
        self.groups = groups
        self.pending_offsets = offsets
        return True
