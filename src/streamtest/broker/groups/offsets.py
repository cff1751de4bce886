"""Committed offsets: the in-memory table and its expiry.

Kafka keeps committed offsets in the ``__consumer_offsets`` topic; so do we. The
table here is what the coordinator serves OffsetFetch from; every change is also
handed to ``on_change``, which the coordinator turns into an ``OffsetCommitKey`` /
``OffsetCommitValue`` record (a tombstone for a deletion) of the group's
``__consumer_offsets`` partition (``records.py``). On start the coordinator
rebuilds the table from that topic.

Expiry follows KIP-211: the offsets of a group that uses group management
expire ``offsets.retention.minutes`` after the group became Empty; offsets of a
group that never had members (a "simple" group, e.g. admin commits) expire that
long after their commit; an explicit ``retention_time`` (OffsetCommit v2-4)
sets the deadline. Offsets of topics a live group no longer subscribes to
expire by commit time (KIP-496). The coordinator decides which rule applies
and calls :meth:`OffsetStore.expire`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class OffsetAndMetadata:
    """One committed offset, as OffsetFetch reports it."""

    offset: int
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp_ms: int = 0
    #: Set only by OffsetCommit v2-4 with an explicit ``retention_time``.
    expire_timestamp_ms: int | None = None


class OffsetStore:
    """Every group's committed offsets.

    Args:
        on_change: called with ``(group, topic, partition, value or None)`` after
            every commit and deletion (``None`` while the table is being rebuilt).
    """

    def __init__(
        self,
        on_change: Callable[[str, str, int, OffsetAndMetadata | None], None] | None = None,
    ) -> None:
        self.on_change = on_change
        self._offsets: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}

    def commit(self, group_id: str, topic: str, partition: int, value: OffsetAndMetadata) -> None:
        """Store one committed offset."""
        self._offsets.setdefault(group_id, {})[(topic, partition)] = value
        if self.on_change is not None:
            self.on_change(group_id, topic, partition, value)

    def get(self, group_id: str, topic: str, partition: int) -> OffsetAndMetadata | None:
        """Return the committed offset of one partition, or ``None``."""
        return self._offsets.get(group_id, {}).get((topic, partition))

    def group_offsets(self, group_id: str) -> dict[TopicPartition, OffsetAndMetadata]:
        """Return a copy of every committed offset of ``group_id``."""
        return dict(self._offsets.get(group_id, {}))

    def has_offsets(self, group_id: str) -> bool:
        """Return whether ``group_id`` has any committed offset."""
        return bool(self._offsets.get(group_id))

    def group_ids(self) -> Iterable[str]:
        """Return the ids of groups that have committed offsets."""
        return [g for g, offs in self._offsets.items() if offs]

    def delete(self, group_id: str, topic: str, partition: int) -> bool:
        """Delete one committed offset; return whether it existed."""
        offs = self._offsets.get(group_id)
        if offs is None or offs.pop((topic, partition), None) is None:
            return False
        if not offs:
            del self._offsets[group_id]
        if self.on_change is not None:
            self.on_change(group_id, topic, partition, None)
        return True

    def delete_topic(self, topic: str) -> int:
        """Delete every group's committed offsets for ``topic``; return how many.

        Kafka's group coordinator drops a deleted topic's offsets
        (``GroupMetadataManager.cleanupGroupMetadata`` on topic deletion), so a topic
        re-created under the same name starts with no committed position.
        """
        doomed = [(g, tp) for g, offs in self._offsets.items() for tp in offs if tp[0] == topic]
        for group_id, (t, partition) in doomed:
            self.delete(group_id, t, partition)
        return len(doomed)

    def delete_group(self, group_id: str) -> int:
        """Delete every committed offset of ``group_id``; return how many there were."""
        offs = self._offsets.get(group_id, {})
        keys = list(offs)
        for topic, partition in keys:
            self.delete(group_id, topic, partition)
        return len(keys)

    def expire(
        self,
        group_id: str,
        now_ms: int,
        retention_ms: int,
        base_timestamp: Callable[[TopicPartition, OffsetAndMetadata], int | None],
    ) -> int:
        """Delete the offsets of ``group_id`` that have expired; return how many.

        ``base_timestamp`` gives the time retention counts from for one offset, or
        ``None`` if that offset must not expire now (e.g. a subscribed topic).
        An explicit expire timestamp always wins (OffsetCommit v2-4).
        """
        expired = []
        for tp, value in self._offsets.get(group_id, {}).items():
            if value.expire_timestamp_ms is not None:
                if value.expire_timestamp_ms <= now_ms:
                    expired.append(tp)
                continue
            base = base_timestamp(tp, value)
            if base is not None and base + retention_ms <= now_ms:
                expired.append(tp)
        for topic, partition in expired:
            self.delete(group_id, topic, partition)
        return len(expired)
