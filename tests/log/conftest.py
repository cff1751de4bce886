"""Fixtures and helpers for the log engine's tests: no sockets, no broker; each
module is exercised directly against a filesystem, as tansu tests its storage."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import pytest

from streamtest.broker.clock import ManualClock
from streamtest.broker.log.config import LogConfig
from streamtest.broker.log.partition import PartitionLog
from streamtest.broker.storage.fs import FileSystem, MemoryFileSystem, OsFileSystem
from streamtest.protocol.control import build_marker_batch
from streamtest.protocol.records import (
    BatchHeader,
    Compression,
    RecordInput,
    build_batch,
    iter_records,
    parse_header,
)

START_MS = 1_700_000_000_000


@pytest.fixture(params=["memory", "os"])
def fs(request, tmp_path) -> Iterator[FileSystem]:
    """Each filesystem implementation in turn."""
    if request.param == "memory":
        yield MemoryFileSystem()
    else:
        osfs = OsFileSystem(tmp_path / "data")
        yield osfs
        osfs.close()


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock (Kafka's MockTime) at a fixed start time."""
    return ManualClock(START_MS)


def config(**settings: object) -> LogConfig:
    """Return a LogConfig from Kafka-named settings (``segment_bytes=...``)."""
    return LogConfig.from_settings({k.replace("_", "."): str(v) for k, v in settings.items()})


def open_log(
    fs: FileSystem, clock: ManualClock, cfg: LogConfig | None = None, **kwargs: object
) -> PartitionLog:
    """Open partition ``t-0``."""
    return PartitionLog.open(fs, "t", 0, cfg or LogConfig(), clock, **kwargs)  # type: ignore[arg-type]


def batch(
    base_offset: int,
    values: Sequence[bytes | None] | int = 1,
    *,
    keys: Sequence[bytes | None] | None = None,
    timestamp: int = START_MS,
    compression: Compression = Compression.NONE,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    transactional: bool = False,
) -> tuple[bytearray, BatchHeader]:
    """Build a batch at ``base_offset``; ``values`` may be a record count."""
    if isinstance(values, int):
        values = [b"v%d" % (base_offset + i) for i in range(values)]
    keys = keys if keys is not None else [None] * len(values)
    pairs = zip(keys, values, strict=True)
    records = [RecordInput(k, v, timestamp=timestamp + i) for i, (k, v) in enumerate(pairs)]
    data = build_batch(
        records,
        base_offset=base_offset,
        compression=compression,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        transactional=transactional,
        default_timestamp=timestamp,
    )
    return data, parse_header(data)


def append(log: PartitionLog, values: Sequence[bytes | None] | int = 1, **kw: object) -> int:
    """Append one batch at the log end; move the high watermark; return its base."""
    data, header = batch(log.log_end_offset, values, **kw)  # type: ignore[arg-type]
    base = log.append(data, header)
    log.high_watermark = log.log_end_offset
    return base


def append_marker(
    log: PartitionLog, producer_id: int, producer_epoch: int, *, commit: bool, ts: int = START_MS
) -> int:
    """Append a COMMIT or ABORT marker; return its offset."""
    data = build_marker_batch(
        committed=commit,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_offset=log.log_end_offset,
        timestamp_ms=ts,
    )
    base = log.append(data, parse_header(data))
    log.high_watermark = log.log_end_offset
    return base


def offsets_in(buffers: Sequence[object]) -> list[int]:
    """Return the record offsets in buffers of whole batches (several per buffer)."""
    out: list[int] = []
    for buf in buffers:
        view = memoryview(buf)  # type: ignore[arg-type]
        pos = 0
        while pos < len(view):
            header = parse_header(view, pos)
            out.extend(r.offset for r in iter_records(view[pos : pos + header.size]))
            pos += header.size
    return out


def batch_bases(buffers: Sequence[object]) -> list[int]:
    """Return the base offsets of the whole batches in ``buffers``."""
    out: list[int] = []
    for buf in buffers:
        view = memoryview(buf)  # type: ignore[arg-type]
        pos = 0
        while pos < len(view):
            header = parse_header(view, pos)
            assert pos + header.size <= len(view), "a buffer ends inside a batch"
            out.append(header.base_offset)
            pos += header.size
    return out


def with_base(header: BatchHeader, base: int) -> BatchHeader:
    """Return ``header`` with another base offset."""
    return dataclasses.replace(header, base_offset=base)
