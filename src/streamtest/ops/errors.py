"""Errors of the ops tools.

Every failure a user can cause (a typo in a group name, a bad datetime, a broker
that is down) is an :class:`OpsError` whose message is one line, ready to print.
The CLI turns them into ``Error: <message>`` and a non-zero exit; the Python API
lets them propagate. Anything else escaping the ops layer is a bug.
"""

from __future__ import annotations


class OpsError(Exception):
    """A user-facing failure with a one-line message."""


class InvalidInputError(OpsError, ValueError):
    """An argument is malformed (a datetime, a duration, a CSV row, a partition list)."""


class BrokerUnreachableError(OpsError):
    """No bootstrap server accepted a connection, or the cluster did not answer in time."""


class UnknownTopicError(OpsError, KeyError):
    """The topic does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownPartitionError(OpsError, KeyError):
    """The topic exists but has no such partition."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownGroupError(OpsError, KeyError):
    """The consumer group does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class GroupNotInactiveError(OpsError):
    """The group has active members, so its offsets must not be changed under it."""


class ReplayTimeoutError(OpsError, TimeoutError):
    """A replay made no progress for longer than its idle timeout."""
