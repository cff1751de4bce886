"""Share groups (KIP-932) in tests: consumers, group configs and state assertions.

``Cluster.share_consumer`` gives a confluent-kafka ``ShareConsumer`` whose group
reads from the earliest offset (``share.auto.offset.reset=earliest``, a group
config, set before the consumer joins; Kafka's default, ``latest``, would skip
what the test produced first). ``Cluster.share_group_state`` describes a group
for assertions.

What is observable depends on the backend, and the state says so instead of
guessing: every backend reports the members, their assignments, and per
partition the share-partition start offset and lag (ShareGroupDescribe and
DescribeShareGroupOffsets, the admin APIs ``kafka-share-groups.sh`` uses). Only
the embedded broker can also show each in-flight record's state and delivery
count; on other backends :attr:`SharePartitionState.records` is ``None`` and the
per-state helpers raise :class:`RecordStatesUnavailable`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

AVAILABLE, ACQUIRED, ACKNOWLEDGED, ARCHIVED = "available", "acquired", "acknowledged", "archived"


class RecordStatesUnavailable(RuntimeError):
    """The backend does not expose in-flight record states (only the embedded
    broker does; Kafka's admin APIs give the start offset and lag)."""


@dataclass(frozen=True)
class InFlightRecord:
    """One record between a share partition's start and end offsets."""

    offset: int
    state: str
    delivery_count: int
    member_id: str | None = None


@dataclass(frozen=True)
class SharePartitionState:
    """A share group's progress on one partition.

    Attributes:
        topic, partition: the partition.
        start_offset: the share-partition start offset (SPSO): every record before
            it was acknowledged or archived; ``None`` if the group has not read
            the partition yet.
        lag: records from the start offset on that are not done yet (KIP-1226).
        end_offset: the share-partition end offset (last offset in flight), where
            known (embedded broker only).
        records: the in-flight records (embedded broker only, else ``None``).
    """

    topic: str
    partition: int
    start_offset: int | None
    lag: int | None
    end_offset: int | None = None
    records: tuple[InFlightRecord, ...] | None = None

    def _need_records(self) -> tuple[InFlightRecord, ...]:
        if self.records is None:
            raise RecordStatesUnavailable(
                "in-flight record states are only visible on the embedded broker; on "
                "this backend a share group shows its start offset and lag "
                "(DescribeShareGroupOffsets), which this state also holds"
            )
        return self.records

    def offsets(self, state: str) -> list[int]:
        """Return the offsets of the in-flight records in ``state``.

        Raises:
            RecordStatesUnavailable: not on the embedded broker.
        """
        return [r.offset for r in self._need_records() if r.state == state]

    @property
    def acquired(self) -> list[int]:
        """Return the offsets delivered and locked, not yet acknowledged."""
        return self.offsets(ACQUIRED)

    @property
    def available(self) -> list[int]:
        """Return the in-flight offsets waiting for (re)delivery."""
        return self.offsets(AVAILABLE)

    @property
    def acknowledged(self) -> list[int]:
        """Return the in-flight offsets accepted (before the start offset passes them)."""
        return self.offsets(ACKNOWLEDGED)

    @property
    def archived(self) -> list[int]:
        """Return the in-flight offsets archived: rejected, or out of deliveries."""
        return self.offsets(ARCHIVED)

    def delivery_count(self, offset: int) -> int:
        """Return how many times the in-flight record at ``offset`` was delivered.

        Raises:
            RecordStatesUnavailable: not on the embedded broker.
            KeyError: the offset is not in flight.
        """
        for r in self._need_records():
            if r.offset == offset:
                return r.delivery_count
        raise KeyError(f"offset {offset} of {self.topic}-{self.partition} is not in flight")


@dataclass(frozen=True)
class ShareMemberState:
    """One member of a share group and the partitions assigned to it."""

    member_id: str
    client_id: str
    member_epoch: int
    assignment: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ShareGroupState:
    """A share group as a test sees it (see the module docstring for what each
    backend can show)."""

    group_id: str
    state: str
    members: tuple[ShareMemberState, ...] = ()
    partitions: Mapping[tuple[str, int], SharePartitionState] = field(default_factory=dict)

    def partition(self, topic: str, partition: int = 0) -> SharePartitionState:
        """Return the state of one partition (not read yet: no start offset, no records).

        Raises:
            KeyError: never, for an existing partition: unread ones come back empty.
        """
        found = self.partitions.get((topic, partition))
        if found is not None:
            return found
        return SharePartitionState(topic, partition, None, None, None, self._empty_records())

    def _empty_records(self) -> tuple[InFlightRecord, ...] | None:
        any_state = next(iter(self.partitions.values()), None)
        if any_state is None or any_state.records is not None:
            return ()
        return None

    def __iter__(self) -> Iterator[SharePartitionState]:
        return iter(self.partitions[k] for k in sorted(self.partitions))


def from_admin(
    info: Any, offsets: list[Any], snapshot: list[dict[str, Any]] | None
) -> ShareGroupState:
    """Build a :class:`ShareGroupState` from the ops views (``describe_share_group``,
    ``share_offsets``) and, on the embedded broker, its share-partition snapshot."""
    parts: dict[tuple[str, int], SharePartitionState] = {}
    for o in offsets:
        parts[(o.topic, o.partition)] = SharePartitionState(
            o.topic, o.partition, o.start_offset, o.lag, None, None if snapshot is None else ()
        )
    for p in snapshot or ():
        start = p["start_offset"]
        records = tuple(
            InFlightRecord(r["offset"], r["state"], r["delivery_count"], r["member_id"])
            for r in p["records"]
        )
        parts[(p["topic"], p["partition"])] = SharePartitionState(
            p["topic"],
            p["partition"],
            start if start is not None and start >= 0 else None,
            p["lag"] if start is not None and start >= 0 else None,
            p["end_offset"],
            records,
        )
    members = tuple(
        ShareMemberState(
            m.member_id,
            m.client_id,
            m.member_epoch,
            tuple((tp.topic, tp.partition) for tp in m.assignment),
        )
        for m in info.members
    )
    return ShareGroupState(info.group_id, info.state, members, parts)
