"""Replay and backfill, as a Python API: the seeds' patterns, made correct.

Every function that needs a cluster takes it as keyword arguments:
``bootstrap_servers="host:port"`` and/or ``config`` (a
:class:`~streamtest.ops.client.ClientConfig`, a bootstrap string, or a dict of
librdkafka properties such as ``{"bootstrap.servers": ..., "security.protocol": ...}``)::

    from streamtest.replay import replay_range, time_travel_replay

    result = replay_range("orders", 100, 200, handle, bootstrap_servers=kafka.bootstrap_servers)
    time_travel_replay("orders", datetime(2026, 2, 1, tzinfo=UTC),
                       datetime(2026, 2, 2, tzinfo=UTC), handle, bootstrap_servers=...)

The ``reset_to_*`` functions work on a consumer you already have. What differs
from the seeds, on purpose:

* Every partition of the topic is positioned, from metadata, rather than the
  partitions a group happened to assign after one ``poll`` (often none).
* A timestamp with no record at or after it positions at the end of the
  partition, rather than leaving the partition wherever it was.
* Replays stop on every partition at its end offset, even when the last offsets
  are control records or compacted away, and fail after ``idle_timeout`` seconds
  without progress instead of looping forever.
* Naive datetimes are UTC (as the CLI's ``--to-datetime``), not local time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from .ops.client import ClientConfig, as_client_config, kafka_error_message
from .ops.errors import OpsError, UnknownPartitionError, UnknownTopicError
from .ops.lag import BackfillProgress
from .ops.lag import monitor_backfill_progress as _monitor
from .ops.plan import TP, PartitionState, clamp_offset
from .ops.replay import (
    Handler,
    PartitionRange,
    ReplayResult,
    read_ranges,
    resolve_offset_range,
    resolve_time_range,
)
from .ops.timeparse import datetime_to_ms

log = logging.getLogger(__name__)

ConfigLike = ClientConfig | Mapping[str, Any] | str | None

__all__ = [
    "BackfillProgress",
    "ClientConfig",
    "PartitionRange",
    "ReplayResult",
    "monitor_backfill_progress",
    "replay_range",
    "reset_to_earliest",
    "reset_to_offset",
    "reset_to_timestamp",
    "time_travel_replay",
]


def _partitions(consumer: Consumer, topic: str, timeout: float) -> list[int]:
    try:
        md = consumer.list_topics(timeout=timeout)  # all topics: never auto-creates one
    except KafkaException as exc:
        raise OpsError(f"no metadata: {kafka_error_message(exc)}") from None
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        raise UnknownTopicError(f"topic '{topic}' does not exist")
    return sorted(t.partitions)


def _watermarks(consumer: Consumer, topic: str, partition: int, timeout: float) -> tuple[int, int]:
    try:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=timeout, cached=False
        )
    except KafkaException as exc:
        raise OpsError(f"cannot read offsets of {topic}-{partition}: "
                       f"{kafka_error_message(exc)}") from None
    return int(low), int(high)


def _position(
    consumer: Consumer, offsets: list[TopicPartition], commit: bool
) -> list[TopicPartition]:
    # assign() with explicit offsets is the seek: seek() straight after assign() fails
    # in librdkafka with "Erroneous state" until the partition has been fetched.
    consumer.assign(offsets)
    if commit:
        consumer.commit(offsets=offsets, asynchronous=False)
    return offsets


def reset_to_earliest(
    consumer: Consumer, topic: str, *, commit: bool = False, timeout: float = 10.0
) -> list[TopicPartition]:
    """Position ``consumer`` at the earliest offset of every partition of ``topic``.

    The consumer is manually assigned all partitions (replacing its assignment);
    with ``commit`` the positions are also committed for its ``group.id`` (the
    group must have no other active members).

    Returns:
        The assigned partitions with their offsets.

    Raises:
        UnknownTopicError: the topic does not exist.
        OpsError: metadata or offsets could not be read.
    """
    tps = [TopicPartition(topic, p, _watermarks(consumer, topic, p, timeout)[0])
           for p in _partitions(consumer, topic, timeout)]
    return _position(consumer, tps, commit)


def reset_to_timestamp(
    consumer: Consumer, topic: str, timestamp_ms: int, *, commit: bool = False,
    timeout: float = 10.0,
) -> list[TopicPartition]:
    """Position ``consumer`` on every partition of ``topic`` at the first record whose
    timestamp is at or after ``timestamp_ms``, or at the partition's end if none is.

    Returns:
        The assigned partitions with their offsets.

    Raises:
        UnknownTopicError: the topic does not exist.
        OpsError: metadata or offsets could not be read.
    """
    parts = _partitions(consumer, topic, timeout)
    try:
        found = consumer.offsets_for_times(
            [TopicPartition(topic, p, timestamp_ms) for p in parts], timeout=timeout
        )
    except KafkaException as exc:
        raise OpsError(f"cannot look up offsets by time: {kafka_error_message(exc)}") from None
    tps = []
    for tp in found:
        offset = tp.offset
        if offset < 0:  # no record that recent: start at the end, not "wherever it was"
            offset = _watermarks(consumer, topic, tp.partition, timeout)[1]
        tps.append(TopicPartition(topic, tp.partition, offset))
    return _position(consumer, sorted(tps, key=lambda t: t.partition), commit)


def reset_to_offset(
    consumer: Consumer, topic: str, partition: int, offset: int, *, commit: bool = False,
    timeout: float = 10.0,
) -> TopicPartition:
    """Position ``consumer`` at ``offset`` of one partition (assigning only that one).

    An offset outside the partition's log is clamped into it, with a logged warning.

    Returns:
        The assigned partition with the offset actually used.

    Raises:
        UnknownTopicError, UnknownPartitionError: no such topic or partition.
        OpsError: offsets could not be read.
    """
    if partition not in _partitions(consumer, topic, timeout):
        raise UnknownPartitionError(f"topic '{topic}' has no partition {partition}")
    low, high = _watermarks(consumer, topic, partition, timeout)
    planned = clamp_offset(TP(topic, partition), offset, PartitionState(low, high))
    if planned.warning:
        log.warning(planned.warning)
    tp = TopicPartition(topic, partition, planned.new_offset)
    _position(consumer, [tp], commit)
    return tp


def replay_range(
    topic: str,
    start: int | Mapping[int, int],
    end: int | Mapping[int, int],
    handler: Handler,
    *,
    bootstrap_servers: str | None = None,
    config: ConfigLike = None,
    partitions: list[int] | None = None,
    idle_timeout: float = 30.0,
) -> ReplayResult:
    """Hand every record with ``start <= offset < end`` to ``handler``, on every
    partition of ``topic`` (or only ``partitions``), then return.

    ``start``/``end`` are one offset for all partitions or ``{partition: offset}``.
    The range is clamped to the readable log. No group offsets are committed.

    Returns:
        The resolved ranges and per-partition counts.

    Raises:
        InvalidInputError: negative offsets or ``end < start``.
        UnknownTopicError, UnknownPartitionError: nothing real selected.
        ReplayTimeoutError: no progress for ``idle_timeout`` seconds.
    """
    cc = as_client_config(config, bootstrap_servers=bootstrap_servers)
    ranges = resolve_offset_range(cc, topic, start, end, partitions)
    return read_ranges(cc, ranges, handler, idle_timeout=idle_timeout)


def time_travel_replay(
    topic: str,
    start_datetime: datetime,
    end_datetime: datetime,
    handler: Handler,
    *,
    bootstrap_servers: str | None = None,
    config: ConfigLike = None,
    partitions: list[int] | None = None,
    idle_timeout: float = 30.0,
) -> ReplayResult:
    """Replay, on every partition, from the first record at or after ``start_datetime``
    up to (not including) the first record at or after ``end_datetime``.

    Naive datetimes are UTC.

    Returns:
        The resolved ranges and per-partition counts.

    Raises:
        InvalidInputError: the end is before the start.
        UnknownTopicError, UnknownPartitionError: nothing real selected.
        ReplayTimeoutError: no progress for ``idle_timeout`` seconds.
    """
    cc = as_client_config(config, bootstrap_servers=bootstrap_servers)
    ranges = resolve_time_range(
        cc, topic, datetime_to_ms(start_datetime), datetime_to_ms(end_datetime), partitions
    )
    return read_ranges(cc, ranges, handler, idle_timeout=idle_timeout)


def monitor_backfill_progress(
    group: str,
    topic: str,
    *,
    bootstrap_servers: str | None = None,
    config: ConfigLike = None,
    target: int | Mapping[int, int] | None = None,
    interval: float = 10.0,
    timeout: float | None = None,
    max_iterations: int | None = None,
    on_progress: Any = None,
) -> BackfillProgress:
    """Watch ``group`` work through ``topic`` until its committed offsets reach
    ``target`` (default: the log end offsets when monitoring starts).

    Returns after the target is reached, ``timeout`` seconds, or ``max_iterations``
    looks, with the last :class:`BackfillProgress` (``complete`` says which).
    ``on_progress(progress)`` is called after every look; by default progress is
    logged at INFO level.

    Raises:
        UnknownTopicError: the topic does not exist.
        OpsError: a request failed.
    """
    cc = as_client_config(config, bootstrap_servers=bootstrap_servers)

    def report(p: BackfillProgress) -> None:
        log.info("backfill %s on %s: %d/%d offsets (%.1f%%)", group, topic,
                 p.done_offsets, p.total_offsets, p.fraction * 100)

    return _monitor(
        cc, group, topic, target=target, interval=interval, timeout=timeout,
        max_iterations=max_iterations, on_progress=on_progress or report,
    )
