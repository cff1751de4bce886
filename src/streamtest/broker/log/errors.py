"""Errors raised by the log engine.

An ``OSError`` from the filesystem is never wrapped: it propagates as is, and the
broker answers ``KAFKA_STORAGE_ERROR`` for it.
"""

from __future__ import annotations


class LogError(Exception):
    """Base class of the log engine's own errors."""


class OffsetOutOfRangeError(LogError):
    """An offset lies outside ``[log_start_offset, log_end_offset]`` (Kafka's
    ``OffsetOutOfRangeException``)."""


class UnexpectedAppendOffsetError(LogError):
    """A batch does not start at the log end offset (leader append), or before it
    (follower append): Kafka's ``UnexpectedAppendOffsetException``."""


class InvalidOffsetError(LogError):
    """Offsets inside an append are not increasing, or do not fit a segment."""


class CorruptIndexError(LogError):
    """An index file fails its sanity check (it is rebuilt from the log)."""


class CorruptCheckpointError(LogError):
    """A checkpoint file cannot be parsed; the message names the file and line."""


class LogClosedError(LogError):
    """The log was closed or deleted."""
