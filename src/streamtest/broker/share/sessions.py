"""Share sessions (KIP-932): what a share consumer fetches from one node.

A share consumer keeps one share session per node it fetches from, keyed by
``(group id, member id)`` (Kafka's ``ShareSessionCache``):

* ShareFetch with epoch 0 opens a session (replacing the member's old one),
  listing every partition to fetch; it may carry no acknowledgements.
* Each later ShareFetch or ShareAcknowledge names the session's current epoch,
  which then moves on (wrapping from 2^31-1 to 1); a ShareFetch adds the
  partitions it names and drops its ``forgotten_topics_data``. A wrong epoch is
  INVALID_SHARE_SESSION_EPOCH, a missing session SHARE_SESSION_NOT_FOUND.
* Epoch -1 closes the session after its acknowledgements, and so does the
  connection that opened it closing; either way the member's acquired records
  are released (Kafka's ``ShareGroupListener.onMemberLeave``).
* A node keeps at most ``group.share.max.share.sessions`` sessions; one more is
  SHARE_SESSION_LIMIT_REACHED.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ...protocol.errors import ErrorCode

INITIAL_EPOCH, FINAL_EPOCH = 0, -1
_MAX_EPOCH = 2**31 - 1

#: A topic partition of a session: (topic id, partition index).
TopicIdPartition = tuple[uuid.UUID, int]


class SessionError(Exception):
    """A request refused at the session level; ``code`` is the top-level error."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code.name)
        self.code = code


def next_epoch(epoch: int) -> int:
    """Return the epoch after ``epoch`` (Kafka's ``ShareRequestMetadata.nextEpoch``)."""
    return 1 if epoch >= _MAX_EPOCH else epoch + 1


@dataclass(eq=False, slots=True)
class ShareSession:
    """One member's session on one node."""

    node_id: int
    group_id: str
    member_id: str
    connection_id: int
    epoch: int = 1
    #: The partitions to fetch, in the order they were added (an ordered set).
    partitions: dict[TopicIdPartition, None] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str, str]:
        """Return ``(node id, group id, member id)``."""
        return (self.node_id, self.group_id, self.member_id)

    def update(self, add: Iterable[TopicIdPartition], forget: Iterable[TopicIdPartition]) -> None:
        """Add the partitions a ShareFetch names and drop its forgotten ones."""
        for tp in add:
            self.partitions.setdefault(tp, None)
        for tp in forget:
            self.partitions.pop(tp, None)


class ShareSessionCache:
    """Every node's share sessions.

    Args:
        max_sessions: returns ``group.share.max.share.sessions`` (per node).
    """

    def __init__(self, max_sessions: Callable[[], int]) -> None:
        self.max_sessions = max_sessions
        self._sessions: dict[tuple[int, str, str], ShareSession] = {}
        self._by_connection: dict[int, set[tuple[int, str, str]]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, node_id: int, group_id: str, member_id: str) -> ShareSession | None:
        """Return the member's session on ``node_id``, or ``None``."""
        return self._sessions.get((node_id, group_id, member_id))

    def sessions(self, group_id: str | None = None) -> list[ShareSession]:
        """Return every session (of ``group_id`` only, if given)."""
        return [s for s in self._sessions.values() if group_id is None or s.group_id == group_id]

    def open(
        self,
        node_id: int,
        group_id: str,
        member_id: str,
        connection_id: int,
        partitions: Iterable[TopicIdPartition],
    ) -> tuple[ShareSession, ShareSession | None]:
        """Open a session (epoch 0), replacing the member's old one on this node.

        Returns:
            The new session and the replaced one (or ``None``).

        Raises:
            SessionError: SHARE_SESSION_LIMIT_REACHED.
        """
        old = self.remove((node_id, group_id, member_id))
        on_node = sum(1 for k in self._sessions if k[0] == node_id)
        if on_node >= self.max_sessions():
            if old is not None:
                self._add(old)
            raise SessionError(ErrorCode.SHARE_SESSION_LIMIT_REACHED)
        session = ShareSession(node_id, group_id, member_id, connection_id)
        session.update(partitions, ())
        self._add(session)
        return session, old

    def _add(self, session: ShareSession) -> None:
        self._sessions[session.key] = session
        self._by_connection.setdefault(session.connection_id, set()).add(session.key)

    def use(self, node_id: int, group_id: str, member_id: str, epoch: int) -> ShareSession:
        """Return the session a request with ``epoch`` (not 0) continues, moving its
        epoch on unless ``epoch`` is the final epoch.

        Raises:
            SessionError: SHARE_SESSION_NOT_FOUND, or INVALID_SHARE_SESSION_EPOCH.
        """
        session = self._sessions.get((node_id, group_id, member_id))
        if session is None:
            raise SessionError(ErrorCode.SHARE_SESSION_NOT_FOUND)
        if epoch == FINAL_EPOCH:
            return session
        if epoch != session.epoch:
            raise SessionError(ErrorCode.INVALID_SHARE_SESSION_EPOCH)
        session.epoch = next_epoch(session.epoch)
        return session

    def remove(self, key: tuple[int, str, str]) -> ShareSession | None:
        """Remove and return the session with ``key`` (``None`` if there is none)."""
        session = self._sessions.pop(key, None)
        if session is not None:
            keys = self._by_connection.get(session.connection_id)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_connection[session.connection_id]
        return session

    def connection_closed(self, connection_id: int) -> list[ShareSession]:
        """Remove and return the sessions opened on a connection that closed."""
        keys = self._by_connection.pop(connection_id, set())
        return [s for s in (self._sessions.pop(k, None) for k in keys) if s is not None]

    def clear(self) -> None:
        """Forget every session (the cluster stops)."""
        self._sessions.clear()
        self._by_connection.clear()
