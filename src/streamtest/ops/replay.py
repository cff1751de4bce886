"""Replaying an exact offset or time range of a topic.

The range is resolved to offsets once, per partition, before anything is read:
``[start, end)`` clamped into the partition's readable range (log start offset to
last stable offset). Reading then stops on each partition at its end offset, at
end-of-partition, or when a record at or past the end arrives (offsets may skip
over control records and compacted records), so the loop always finishes. Reads
use manual assignment and never commit, so a replay changes no group's offsets.

Records reach the handler as :class:`streamtest.KafkaRecord`, with key, value,
headers (in order, repeated keys kept) and timestamp exactly as stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from confluent_kafka import IsolationLevel, KafkaError, Message, TopicPartition
from confluent_kafka.admin import OffsetSpec

from ..types import KafkaRecord
from .client import (
    ClientConfig,
    check_reachable,
    kafka_error_message,
    list_topic_partitions,
    resolve_partitions,
)
from .errors import InvalidInputError, OpsError, ReplayTimeoutError
from .groups import list_offsets, wait
from .plan import TP

Handler = Callable[[KafkaRecord], object]
Progress = Callable[[int, int], object]


@dataclass(frozen=True)
class PartitionRange:
    """Offsets ``[start, end)`` of one partition; empty when ``start >= end``."""

    tp: TP
    start: int
    end: int

    @property
    def size(self) -> int:
        """Return the number of offsets in the range (records may be fewer)."""
        return max(0, self.end - self.start)


@dataclass
class ReplayResult:
    """What a replay read: the resolved ranges and the records handled per partition."""

    ranges: list[PartitionRange]
    counts: dict[TP, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Return the total number of records handed to the handler."""
        return sum(self.counts.values())


def record_from_message(msg: Message) -> KafkaRecord:
    """Return a confluent-kafka message as a :class:`KafkaRecord`."""
    return KafkaRecord.from_message(msg)


def _readable_bounds(
    config: ClientConfig, topic: str, partitions: list[int] | None
) -> dict[TP, tuple[int, int]]:
    """Return ``{TP: (log start offset, last stable offset)}`` for the selection."""
    check_reachable(config)
    admin = config.admin()
    parts = resolve_partitions(list_topic_partitions(admin, config), topic, partitions)
    tps = [TP(topic, p) for p in parts]
    starts = list_offsets(admin, config, {tp: OffsetSpec.earliest() for tp in tps})
    # read_committed end, because the replay consumer reads committed data only:
    # an open transaction would otherwise leave the last offsets unreachable.
    futures = admin.list_offsets(
        {TopicPartition(tp.topic, tp.partition): OffsetSpec.latest() for tp in tps},
        isolation_level=IsolationLevel.READ_COMMITTED,
        request_timeout=config.timeout,
    )
    ends = {TP(c.topic, c.partition): wait(f, config, f"cannot list offsets of {c.topic}").offset
            for c, f in futures.items()}
    return {tp: (starts[tp][0], ends[tp]) for tp in tps}


def _per_partition(value: int | Mapping[int, int], partition: int, default: int) -> int:
    if isinstance(value, Mapping):
        return value.get(partition, default)
    return value


def resolve_offset_range(
    config: ClientConfig,
    topic: str,
    start: int | Mapping[int, int],
    end: int | Mapping[int, int],
    partitions: list[int] | None = None,
) -> list[PartitionRange]:
    """Return ``[start, end)`` on each selected partition, clamped to what is readable.

    ``start`` and ``end`` are one offset for every partition or ``{partition: offset}``
    (a partition missing from a mapping gets an empty range).

    Raises:
        InvalidInputError: a negative offset, or ``end`` before ``start``.
        UnknownTopicError, UnknownPartitionError: the selection names nothing real.
    """
    for v in (start, end):
        values = v.values() if isinstance(v, Mapping) else [v]
        if any(x < 0 for x in values):
            raise InvalidInputError("offsets must not be negative")
    if not isinstance(start, Mapping) and not isinstance(end, Mapping) and end < start:
        raise InvalidInputError(f"--to-offset {end} is before --from-offset {start}")
    if partitions is None and isinstance(start, Mapping):
        partitions = sorted(start)
    out = []
    for tp, (low, high) in sorted(_readable_bounds(config, topic, partitions).items()):
        s = max(low, _per_partition(start, tp.partition, high))
        e = min(high, _per_partition(end, tp.partition, s))
        out.append(PartitionRange(tp, s, max(s, e)))
    return out


def resolve_time_range(
    config: ClientConfig,
    topic: str,
    start_ms: int,
    end_ms: int,
    partitions: list[int] | None = None,
) -> list[PartitionRange]:
    """Return, per partition, the offsets from the first record at or after ``start_ms``
    to the first record at or after ``end_ms`` (exclusive), as ListOffsets resolves
    timestamps (the same rule as ``--to-datetime``).

    For a partition whose timestamps only increase (LogAppendTime, or one producer
    stamping in order) that is exactly the records with ``start_ms <= ts < end_ms``.

    Raises:
        InvalidInputError: ``end_ms`` is before ``start_ms``.
        UnknownTopicError, UnknownPartitionError: the selection names nothing real.
    """
    if end_ms < start_ms:
        raise InvalidInputError("the end of the time range is before its start")
    bounds = _readable_bounds(config, topic, partitions)
    admin = config.admin()
    lo = list_offsets(admin, config, {tp: OffsetSpec.for_timestamp(start_ms) for tp in bounds})
    hi = list_offsets(admin, config, {tp: OffsetSpec.for_timestamp(end_ms) for tp in bounds})
    out = []
    for tp, (low, high) in sorted(bounds.items()):
        # -1 means no record is that recent: the range starts/ends at the log end.
        s = lo[tp][0] if lo[tp][0] >= 0 else high
        e = hi[tp][0] if hi[tp][0] >= 0 else high
        s = min(max(s, low), high)
        out.append(PartitionRange(tp, s, min(max(e, s), high)))
    return out


def read_ranges(
    config: ClientConfig,
    ranges: Iterable[PartitionRange],
    handler: Handler,
    *,
    idle_timeout: float = 30.0,
    on_progress: Progress | None = None,
) -> ReplayResult:
    """Hand every record in ``ranges`` to ``handler``, in offset order per partition.

    Returns once every partition reached its end. ``on_progress(done, total)`` is
    called after each batch with offsets covered so far and in total.

    Raises:
        ReplayTimeoutError: no record arrived for ``idle_timeout`` seconds while
            some partition had not reached its end.
        OpsError: the consumer reported an error.
        Exception: whatever ``handler`` raises, unchanged (reading stops there).
    """
    ranges = list(ranges)
    result = ReplayResult(ranges, {r.tp: 0 for r in ranges})
    pending = {r.tp: r for r in ranges if r.size > 0}
    total = sum(r.size for r in ranges)
    covered = {tp: 0 for tp in pending}
    if not pending:
        if on_progress:
            on_progress(0, 0)
        return result
    consumer = config.consumer()
    try:
        consumer.assign([TopicPartition(tp.topic, tp.partition, r.start)
                         for tp, r in pending.items()])

        def finish(tp: TP) -> None:
            r = pending.pop(tp)
            covered[tp] = r.size
            consumer.incremental_unassign([TopicPartition(tp.topic, tp.partition)])

        last = time.monotonic()
        while pending:
            batch = consumer.consume(num_messages=500, timeout=0.2)
            for msg in batch:
                tp = TP(msg.topic(), msg.partition())
                r = pending.get(tp)
                if r is None:
                    continue  # a record fetched before the partition was unassigned
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        if msg.offset() >= r.end:
                            finish(tp)
                        continue
                    raise OpsError(f"cannot read {tp}: {err.name()}: {err.str()}")
                last = time.monotonic()
                if msg.offset() >= r.end:
                    finish(tp)
                    continue
                handler(record_from_message(msg))
                result.counts[tp] += 1
                covered[tp] = msg.offset() + 1 - r.start
                if msg.offset() + 1 >= r.end:
                    finish(tp)
            if on_progress:
                on_progress(sum(covered.values()), total)
            if pending and not batch and time.monotonic() - last > idle_timeout:
                where = ", ".join(f"{tp} at {r.start + covered[tp]}/{r.end}"
                                  for tp, r in sorted(pending.items()))
                raise ReplayTimeoutError(f"no records for {idle_timeout:g}s; stuck on {where}")
    finally:
        consumer.close()
    return result


# -- sinks used by the CLI ------------------------------------------------------------


def record_json(record: KafkaRecord) -> str:
    """Return the JSON line written by ``replay --output``/``--exec``: the record with key,
    value and header values base64-encoded (so any bytes survive)."""
    return json.dumps(record.to_json(), separators=(",", ":"))


class TopicSink:
    """Produce replayed records to another topic with key, value, headers and timestamp.

    With ``keep_partition`` each record goes to the partition number it came from
    (the target must have enough partitions); otherwise the producer's key
    partitioner chooses.
    """

    def __init__(self, config: ClientConfig, topic: str, *, keep_partition: bool = True) -> None:
        self.topic = topic
        self.keep_partition = keep_partition
        self.errors: list[str] = []
        self.producer = config.producer(**{"enable.idempotence": True, "linger.ms": 5})

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.errors.append(f"{err.name()}: {err.str()}")

    def __call__(self, record: KafkaRecord) -> None:
        """Queue one record for delivery."""
        kwargs: dict[str, Any] = {
            "key": record.key,
            "value": record.value,
            "headers": list(record.headers) or None,
            "timestamp": record.timestamp,
            "on_delivery": self._delivered,
        }
        if self.keep_partition:
            kwargs["partition"] = record.partition
        while True:
            try:
                self.producer.produce(self.topic, **kwargs)
                break
            except BufferError:  # local queue full: let deliveries drain
                self.producer.poll(0.1)
        self.producer.poll(0)

    def close(self, timeout: float) -> None:
        """Wait for every delivery.

        Raises:
            OpsError: some record was not delivered.
        """
        left = self.producer.flush(timeout)
        if left:
            self.errors.append(f"{left} records not delivered within {timeout:g}s")
        if self.errors:
            raise OpsError(f"replay to '{self.topic}' failed: {self.errors[0]}")


class FileSink:
    """Write JSON lines to a temporary file and move it into place on success, so a
    re-run replaces the file and an interrupted run leaves no half-written one."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent or ".")
        self.tmp = Path(tmp)
        self.file: IO[str] = os.fdopen(fd, "w", encoding="utf-8")

    def __call__(self, record: KafkaRecord) -> None:
        """Write one record."""
        self.file.write(record_json(record) + "\n")

    def close(self, ok: bool) -> None:
        """Move the file into place if ``ok``, else delete it."""
        self.file.close()
        if ok:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


class ExecSink:
    """Pipe JSON lines into one shell command's stdin."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, text=True)

    def __call__(self, record: KafkaRecord) -> None:
        """Send one record to the command.

        Raises:
            OpsError: the command stopped reading.
        """
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(record_json(record) + "\n")
        except BrokenPipeError:
            raise OpsError(f"command {self.command!r} stopped reading its input") from None

    def close(self) -> None:
        """Close the command's stdin and wait for it.

        Raises:
            OpsError: the command exited with a non-zero status.
        """
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        code = self.proc.wait()
        if code != 0:
            raise OpsError(f"command {self.command!r} exited with status {code}")


def topic_exists(config: ClientConfig, topic: str) -> int:
    """Return the partition count of ``topic``.

    Raises:
        UnknownTopicError: it does not exist.
    """
    admin = config.admin()
    return len(resolve_partitions(list_topic_partitions(admin, config), topic, None))


__all__ = [
    "ExecSink",
    "FileSink",
    "PartitionRange",
    "ReplayResult",
    "TopicSink",
    "kafka_error_message",
    "read_ranges",
    "record_from_message",
    "record_json",
    "resolve_offset_range",
    "resolve_time_range",
    "topic_exists",
]
