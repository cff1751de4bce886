"""Exceptions raised by the sans-I/O protocol layer.

Following h11, errors are split by who is at fault. ``RemoteProtocolError`` means
the peer sent something that is not valid Kafka; the connection that received it
should be closed (and logged). ``LocalProtocolError`` means our own code tried to
send something invalid.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class for protocol-layer errors."""


class RemoteProtocolError(ProtocolError):
    """The peer violated the protocol; close its connection."""


class InvalidFrame(RemoteProtocolError):
    """A frame's size prefix or header cannot be parsed."""


class FrameTooLarge(InvalidFrame):
    """A frame is larger than the configured maximum frame size."""


class CorruptRecordBatch(RemoteProtocolError):
    """A record batch is truncated, has a bad magic byte or fails its CRC."""


class InvalidRecordBatch(CorruptRecordBatch):
    """A record batch is malformed (truncated, a magic other than 2, an impossible
    length or count), as opposed to failing its CRC. Kafka answers the first with
    INVALID_RECORD and the second with CORRUPT_MESSAGE."""


class LocalProtocolError(ProtocolError):
    """Our own code tried to encode something invalid."""
