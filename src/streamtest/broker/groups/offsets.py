"""Committed offsets: the in-memory table, its persistence and its expiry.

Kafka keeps committed offsets in the ``__consumer_offsets`` topic. We keep them
in a dict keyed by group and partition and, when the broker has a data
directory, write every change through ``Storage.put_meta`` before the commit is
acknowledged, so they survive a restart (and a SIGKILL of the broker).

Expiry follows KIP-211: the offsets of a group that uses group management
expire ``offsets.retention.minutes`` after the group became Empty; offsets of a
group that never had members (a "simple" group, e.g. admin commits) expire that
long after their commit; an explicit ``retention_time`` (OffsetCommit v2-4)
sets the deadline. Offsets of topics a live group no longer subscribes to
expire by commit time (KIP-496). The coordinator decides which rule applies
and calls :meth:`OffsetStore.expire`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..storage.base import Storage

NAMESPACE = "group_offsets"
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

    def to_json(self) -> list[object]:
        """Return the persisted form."""
        return [
            self.offset,
            self.leader_epoch,
            self.metadata,
            self.commit_timestamp_ms,
            self.expire_timestamp_ms,
        ]

    @classmethod
    def from_json(cls, value: list[object]) -> OffsetAndMetadata:
        """Rebuild from :meth:`to_json` output."""
        offset, epoch, metadata, ts, expire = value
        return cls(
            int(offset),
            int(epoch),
            str(metadata),
            int(ts),  # type: ignore[arg-type]
            None if expire is None else int(expire),
        )  # type: ignore[arg-type]


class OffsetStore:
    """Every group's committed offsets; writes through to ``storage`` if there is one."""

    def __init__(self, storage: Storage | None) -> None:
        self.storage = storage
        self._offsets: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}

    def load(self) -> None:
        """Read persisted offsets back (after a restart); no-op without storage."""
        if self.storage is None:
            return
        for key, value in self.storage.load_meta(NAMESPACE).items():
            group_id, topic, partition = json.loads(key)
            self._offsets.setdefault(group_id, {})[(topic, int(partition))] = (
                OffsetAndMetadata.from_json(value)
            )

    @staticmethod
    def _key(group_id: str, topic: str, partition: int) -> str:
        return json.dumps([group_id, topic, partition])

    def commit(self, group_id: str, topic: str, partition: int, value: OffsetAndMetadata) -> None:
        """Store (and persist) one committed offset."""
        self._offsets.setdefault(group_id, {})[(topic, partition)] = value
        if self.storage is not None:
            self.storage.put_meta(NAMESPACE, self._key(group_id, topic, partition), value.to_json())

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
        if self.storage is not None:
            self.storage.put_meta(NAMESPACE, self._key(group_id, topic, partition), None)
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
