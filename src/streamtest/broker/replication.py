"""Appending to partitions: the leader's log first, then its followers, then the world.

Every batch that enters a partition (a producer's, or a transaction marker)
goes through :meth:`ReplicaManager.append_to_leader`, in this order:

1. the leader's replica log stores it; a storage failure raises ``OSError`` and
   leaves nothing visible (the log end offset does not move);
2. it is persisted (with a data directory);
3. followers copy it (logical replication: one owner of state copies the bytes
   to each follower's own log);
4. parked fetches are woken.

Only then does the caller acknowledge it.
"""

from __future__ import annotations

from typing import Protocol

from ..protocol.records import BatchHeader
from .topics import Partition

Buffer = bytes | bytearray | memoryview


class AppendJournal(Protocol):
    """Persists an appended batch of a replica log before it is acknowledged."""

    def append(self, log: object, batch: Buffer) -> None:
        """Write ``batch`` to ``log``'s files.

        Raises:
            OSError: the write failed.
        """
        ...

    def log_start_changed(self, log: object) -> None:
        """Persist ``log``'s new log start offset."""
        ...


class ReplicaManager:
    """The append path of every partition of the cluster.

    Args:
        journal: persists appends (``None``: memory only).
    """

    def __init__(self, journal: AppendJournal | None = None) -> None:
        self.journal = journal

    def append_to_leader(self, partition: Partition, batch: Buffer, header: BatchHeader) -> int:
        """Append one batch, whose base offset is already set, to ``partition``.

        Returns:
            The batch's base offset.

        Raises:
            OSError: storage refused the batch; nothing became visible.
            LookupError: the partition has no leader.
        """
        log = partition.log
        end = log.log_end_offset
        if self.journal is not None:
            # Write first: a failure here leaves the in-memory log untouched.
            self.journal.append(log, batch)
        log.append(batch, header)
        for node_id, replica in partition.logs.items():
            if node_id != partition.leader and replica.log_end_offset == end:
                replica.append(bytes(batch), header)
        partition.wake_waiters()
        return header.base_offset

    def delete_records_before(self, partition: Partition, offset: int) -> None:
        """Move ``partition``'s log start offset to ``offset`` on every replica
        (DeleteRecords) and persist it."""
        for replica in partition.logs.values():
            replica.delete_records_before(offset)
            if self.journal is not None:
                self.journal.log_start_changed(replica)
