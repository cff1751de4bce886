"""The storage interface: how broker state reaches a data directory.

The broker keeps all state in memory and calls a ``Storage`` after each change,
before acknowledging it, so that every acknowledged change survives a restart,
including a SIGKILL of the broker process. Without a data directory the broker
has no ``Storage`` at all and nothing is written.

Besides topic logs, components such as the group coordinator and the transaction
coordinator persist small JSON documents through :meth:`Storage.put_meta`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import uuid

    from ..state.log import PartitionLog
    from ..topics import Topic

Buffer = bytes | bytearray | memoryview


class Storage(Protocol):
    """What the broker needs from a persistence engine."""

    def load_topics(self) -> list[tuple[str, uuid.UUID, dict[str, str], list[PartitionLog]]]:
        """Return every persisted topic as ``(name, id, configs, partition logs)``."""
        ...

    def topic_created(self, topic: Topic) -> None:
        """Persist a new topic."""
        ...

    def topic_changed(self, topic: Topic) -> None:
        """Persist a topic's new partition count or configs."""
        ...

    def topic_deleted(self, topic: Topic) -> None:
        """Remove a topic and its logs."""
        ...

    def append(self, log: PartitionLog, batch: Buffer) -> None:
        """Append one batch (with its final base offset) to a partition's log."""
        ...

    def log_start_changed(self, log: PartitionLog) -> None:
        """Persist a partition's new log start offset."""
        ...

    def put_meta(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` (``None`` deletes the key)."""
        ...

    def load_meta(self, namespace: str) -> dict[str, Any]:
        """Return every key and value stored under ``namespace``."""
        ...

    def close(self) -> None:
        """Flush and close files."""
        ...
