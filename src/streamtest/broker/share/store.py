"""Where share-partition state is kept: the one interface the share partitions
persist through (Kafka's ``Persister``, the share coordinator's job).

Kafka keeps the state of each share partition (its start offset, the delivery
state and count of the records in flight, a state epoch) in the
``__share_group_state`` topic, written by the share coordinator (KIP-932). Here
:class:`ShareStateStore` plays that part behind three calls, :meth:`~ShareStateStore.read`,
:meth:`~ShareStateStore.write` and :meth:`~ShareStateStore.delete`:

* every write lands in memory, so a partition whose leadership moves to another
  node reloads its state there (the cluster's nodes share this process), as a
  new Kafka leader reads it back from the share coordinator;
* with a data directory (``Cluster.storage``), every write is also appended to
  the metadata store's documents (``MetaDocuments.put_meta``, namespace
  ``share_state``: ``<data dir>/metadata/meta/share_state.jsonl``), so the state
  survives a restart. This is the one class to re-point at ``__share_group_state``
  (a ShareSnapshot/ShareUpdate record per write, on the log engine).

What is written follows Kafka: records acquired but not yet acknowledged are
written as AVAILABLE with the delivery count they had before this delivery (a
broker that fails over redelivers them), and the state is written on
acknowledgement, release, lock expiry and start-offset moves, never on
acquisition.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..storage.metadata import MetaDocuments

#: The meta namespace of the state journal.
NAMESPACE = "share_state"
#: Start offset of a share partition that has no state yet (Kafka's
#: ``PartitionFactory.UNINITIALIZED_START_OFFSET``): the group's
#: ``share.auto.offset.reset`` decides it at the first fetch.
UNINITIALIZED = -1

#: Kafka's ``RecordState`` ids, as persisted.
AVAILABLE, ACQUIRED, ACKNOWLEDGED, ARCHIVED = 0, 1, 2, 4


@dataclass(frozen=True, slots=True)
class ShareKey:
    """A share partition: a group reading one topic partition."""

    group_id: str
    topic_id: uuid.UUID
    partition: int

    def text(self) -> str:
        """Return Kafka's share coordinator key, ``group:topicId:partition``."""
        return f"{self.group_id}:{self.topic_id}:{self.partition}"

    @classmethod
    def parse(cls, text: str) -> ShareKey:
        """Return the key written by :meth:`text` (group ids may contain ``:``)."""
        group_id, topic_id, partition = text.rsplit(":", 2)
        return cls(group_id, uuid.UUID(topic_id), int(partition))


@dataclass(frozen=True, slots=True)
class StateBatch:
    """A run of offsets with one delivery state and count (Kafka's
    ``PersisterStateBatch``); ``last_offset`` is inclusive."""

    first_offset: int
    last_offset: int
    delivery_state: int
    delivery_count: int


@dataclass(slots=True)
class PartitionState:
    """The persisted state of one share partition (Kafka's ``ShareGroupOffset``).

    Attributes:
        state_epoch: bumped by AlterShareGroupOffsets; a new epoch discards the
            records in flight.
        start_offset: the share-partition start offset (SPSO), or
            :data:`UNINITIALIZED`.
        leader_epoch: the partition's leader epoch when this was written.
        batches: the records in flight from the start offset on.
        delivery_complete_count: acknowledged or archived records among them
            (KIP-1226; DescribeShareGroupOffsets v1 subtracts them for the lag).
    """

    state_epoch: int = 0
    start_offset: int = UNINITIALIZED
    leader_epoch: int = -1
    batches: list[StateBatch] = field(default_factory=list)
    delivery_complete_count: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return the state as JSON-serialisable data."""
        return {
            "state_epoch": self.state_epoch,
            "start_offset": self.start_offset,
            "leader_epoch": self.leader_epoch,
            "batches": [
                [b.first_offset, b.last_offset, b.delivery_state, b.delivery_count]
                for b in self.batches
            ],
            "delivery_complete_count": self.delivery_complete_count,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartitionState:
        """Return the state :meth:`to_json` wrote."""
        return cls(
            int(data["state_epoch"]),
            int(data["start_offset"]),
            int(data.get("leader_epoch", -1)),
            [StateBatch(*(int(x) for x in b)) for b in data.get("batches", ())],
            int(data.get("delivery_complete_count", 0)),
        )


class ShareStateStore:
    """Share-partition state: in memory, journaled to ``storage`` when there is one.

    Args:
        storage: the cluster's storage (``None``: memory only).
    """

    def __init__(self, storage: MetaDocuments | None = None) -> None:
        self.storage = storage
        self._states: dict[ShareKey, PartitionState] = {}
        if storage is not None:
            for text, data in storage.load_meta(NAMESPACE).items():
                self._states[ShareKey.parse(text)] = PartitionState.from_json(data)

    def read(self, key: ShareKey) -> PartitionState | None:
        """Return the last state written for ``key``, or ``None``."""
        state = self._states.get(key)
        if state is None:
            return None
        return PartitionState(
            state.state_epoch,
            state.start_offset,
            state.leader_epoch,
            list(state.batches),
            state.delivery_complete_count,
        )

    def write(self, key: ShareKey, state: PartitionState) -> None:
        """Replace the state of ``key``."""
        self._states[key] = state
        if self.storage is not None:
            self.storage.put_meta(NAMESPACE, key.text(), state.to_json())

    def delete(self, key: ShareKey) -> None:
        """Forget the state of ``key`` (DeleteShareGroupOffsets, DeleteGroups)."""
        if self._states.pop(key, None) is not None and self.storage is not None:
            self.storage.put_meta(NAMESPACE, key.text(), None)

    def keys(self, group_id: str | None = None) -> list[ShareKey]:
        """Return every key with state (of ``group_id`` only, if given)."""
        return [k for k in self._states if group_id is None or k.group_id == group_id]
