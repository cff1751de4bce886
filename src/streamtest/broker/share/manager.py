"""The share partitions of the cluster and the share sessions of its nodes
(Kafka's ``SharePartitionManager``).

A :class:`SharePartition` lives with the leader of its topic partition: it is
created at the first ShareFetch that reaches the leader, and dropped when the
leadership moves (the new leader loads it back from the :class:`ShareStateStore`,
as a new Kafka leader reads the share coordinator's state), when its topic is
deleted, and when an admin resets or deletes the group's offsets.

The manager receives narrow services, not the cluster: the topic table, the
broker settings, the clock, the group configs and the state store.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..config import BrokerSettings
from ..groups.timers import Timers
from ..services.group_configs import GroupConfigs
from .partition import ACKNOWLEDGED, ARCHIVED, STATE_NAMES, Limits, SharePartition
from .sessions import ShareSession, ShareSessionCache
from .store import UNINITIALIZED, PartitionState, ShareKey, ShareStateStore

if TYPE_CHECKING:
    from ..topics import Partition, Topic, TopicTable


class SharePartitionManager:
    """Every share partition and share session of the cluster.

    Args:
        topics: the topic table (read only).
        settings: the broker settings.
        clock: the cluster's clock.
        group_configs: per-group share settings.
        store: where share-partition state is persisted.
    """

    def __init__(
        self,
        topics: TopicTable,
        settings: BrokerSettings,
        clock: Clock,
        group_configs: GroupConfigs,
        store: ShareStateStore,
    ) -> None:
        self.topics = topics
        self.settings = settings
        self.clock = clock
        self.group_configs = group_configs
        self.store = store
        self.timers = Timers(clock)
        self.sessions = ShareSessionCache(lambda: int(settings["group.share.max.share.sessions"]))
        self.partitions: dict[ShareKey, SharePartition] = {}
        self._limits: dict[str, Limits] = {}
        group_configs.listeners.append(lambda group_id: self._limits.pop(group_id, None))

    # -- settings ----------------------------------------------------------------------

    def limits(self, group_id: str) -> Limits:
        """Return ``group_id``'s share settings (group configs over broker settings)."""
        found = self._limits.get(group_id)
        if found is None:
            value = self.group_configs.value
            found = self._limits[group_id] = Limits(
                int(value(group_id, "share.record.lock.duration.ms")),
                int(value(group_id, "share.delivery.count.limit")),
                int(value(group_id, "share.partition.max.record.locks")),
                value(group_id, "share.isolation.level") == "read_committed",
                str(value(group_id, "share.auto.offset.reset")),
                bool(value(group_id, "share.renew.acknowledge.enable")),
            )
        return found

    # -- share partitions ------------------------------------------------------------------

    def share_partition(self, group_id: str, partition: Partition) -> SharePartition:
        """Return ``group_id``'s share partition of ``partition``, loading it (from the
        store, or by ``share.auto.offset.reset``) if this leader has none yet."""
        found = self.existing(group_id, partition)
        if found is not None:
            return found
        key = ShareKey(group_id, partition.topic_id, partition.index)
        sp = SharePartition(
            key, partition, self.store, self.clock, self.timers, lambda: self.limits(group_id)
        )
        self.partitions[key] = sp
        return sp

    def existing(self, group_id: str, partition: Partition) -> SharePartition | None:
        """Return the loaded share partition, or ``None`` (never loaded, or dropped
        because the partition's leader changed since)."""
        key = ShareKey(group_id, partition.topic_id, partition.index)
        sp = self.partitions.get(key)
        if sp is None:
            return None
        if sp.partition is not partition or sp.leader_epoch != partition.leader_epoch:
            self._drop(key)
            return None
        return sp

    def _drop(self, key: ShareKey) -> None:
        sp = self.partitions.pop(key, None)
        if sp is not None:
            sp.fence()

    # -- sessions -------------------------------------------------------------------------

    def release_session(self, session: ShareSession) -> None:
        """Release what the session's member holds on the session's partitions."""
        for topic_id, index in session.partitions:
            sp = self.partitions.get(ShareKey(session.group_id, topic_id, index))
            if sp is not None:
                sp.release_member(session.member_id)

    def connection_closed(self, connection_id: int) -> None:
        """Close the share sessions a closed connection opened (Kafka releases the
        member's records: its consumer went away)."""
        for session in self.sessions.connection_closed(connection_id):
            self.release_session(session)

    # -- topics and groups -----------------------------------------------------------------

    def topic_deleted(self, topic: Topic) -> None:
        """Forget every share partition and state of a deleted topic."""
        for key in [k for k in self.partitions if k.topic_id == topic.topic_id]:
            self._drop(key)
        for key in self.store.keys():
            if key.topic_id == topic.topic_id:
                self.store.delete(key)

    def delete_group(self, group_id: str) -> None:
        """Forget every share partition and state of a deleted share group."""
        for key in [k for k in self.partitions if k.group_id == group_id]:
            self._drop(key)
        for key in self.store.keys(group_id):
            self.store.delete(key)
        self._limits.pop(group_id, None)

    # -- share group offsets (DescribeShareGroupOffsets and friends) ------------------------

    def describe_offset(self, group_id: str, partition: Partition) -> tuple[int, int]:
        """Return ``(start offset, lag)`` of a share partition: -1 and -1 when the
        group has not started reading it (KIP-932, KIP-1226).

        Both come from the persisted state, as Kafka's ReadShareGroupStateSummary
        gives them: the start offset may trail the live one (see
        ``SharePartition._settle``)."""
        state = self.store.read(ShareKey(group_id, partition.topic_id, partition.index))
        if state is None or state.start_offset < 0 or not partition.online:
            return UNINITIALIZED, -1
        limits = self.limits(group_id)
        end = partition.last_stable_offset if limits.read_committed else partition.high_watermark
        start = max(state.start_offset, partition.log_start_offset)
        # Like Kafka, a start offset set past the end gives a negative lag.
        return start, end - start - state.delivery_complete_count

    def alter_offset(self, group_id: str, partition: Partition, start_offset: int) -> None:
        """Start ``group_id`` at ``start_offset`` of ``partition`` (AlterShareGroupOffsets):
        a new state epoch, no records in flight."""
        key = ShareKey(group_id, partition.topic_id, partition.index)
        old = self.store.read(key)
        epoch = old.state_epoch + 1 if old is not None else 0
        self._drop(key)
        self.store.write(key, PartitionState(epoch, start_offset, partition.leader_epoch))

    def delete_offsets(self, group_id: str, topic_id: uuid.UUID) -> None:
        """Forget ``group_id``'s state of one topic (DeleteShareGroupOffsets): it starts
        again by ``share.auto.offset.reset``."""
        for key in [
            k for k in self.partitions if k.group_id == group_id and k.topic_id == topic_id
        ]:
            self._drop(key)
        for key in self.store.keys(group_id):
            if key.topic_id == topic_id:
                self.store.delete(key)

    def state_keys(self, group_id: str) -> list[ShareKey]:
        """Return the share partitions ``group_id`` has state for."""
        keys = set(self.store.keys(group_id))
        keys.update(k for k in self.partitions if k.group_id == group_id)
        return sorted(keys, key=lambda k: (str(k.topic_id), k.partition))

    # -- introspection ------------------------------------------------------------------------

    def snapshot(self, group_id: str) -> list[dict[str, Any]]:
        """Return ``group_id``'s share partitions as plain data: per topic partition
        its start and end offsets, lag, and each in-flight record's state, delivery
        count and owner (``EmbeddedKafka.share_group_state``)."""
        out: list[dict[str, Any]] = []
        for key in self.state_keys(group_id):
            topic = self.topics.by_id.get(key.topic_id)
            if topic is None or key.partition >= len(topic.partitions):
                continue
            partition = topic.partitions[key.partition]
            sp = self.existing(group_id, partition)
            if sp is not None:
                entry = sp.snapshot()
                entry["lag"] = sp.lag()
            else:
                entry = self._persisted_snapshot(group_id, partition, key)
            entry["topic"], entry["partition"] = topic.name, key.partition
            out.append(entry)
        return out

    def _persisted_snapshot(
        self, group_id: str, partition: Partition, key: ShareKey
    ) -> dict[str, Any]:
        """Return a share partition that is not loaded as its persisted state shows
        it, with the start offset moved past the finished records at its head (as
        loading it would)."""
        state = self.store.read(key)
        start, lag = self.describe_offset(group_id, partition)
        entry: dict[str, Any] = {"start_offset": start, "end_offset": None, "lag": lag}
        records: list[dict[str, Any]] = []
        if state is not None and start >= 0:
            for b in sorted(state.batches, key=lambda b: b.first_offset):
                for off in range(max(b.first_offset, start), b.last_offset + 1):
                    if (
                        not records
                        and off == start
                        and b.delivery_state in (ACKNOWLEDGED, ARCHIVED)
                    ):
                        start += 1
                        continue
                    records.append(
                        {
                            "offset": off,
                            "state": STATE_NAMES[b.delivery_state],
                            "delivery_count": b.delivery_count,
                            "member_id": None,
                        }
                    )
            entry["start_offset"] = start
        entry["records"] = records
        return entry

    def stop(self) -> None:
        """Cancel every lock timer and wake every parked ShareFetch."""
        self.timers.cancel_all()
        for sp in self.partitions.values():
            sp.fence()
        self.sessions.clear()

    def start(self) -> None:
        """Allow timers again (after :meth:`stop`)."""
        self.timers.stopped = False
