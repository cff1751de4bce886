"""A Hypothesis state machine drives a partition log against a simple model:
appends, reads, rolls, DeleteRecords, truncation, retention, flushes, and crashes
followed by recovery, on both filesystems."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from streamtest.broker.clock import ManualClock
from streamtest.broker.log.partition import PartitionLog
from streamtest.broker.storage.fs import FileSystem, MemoryFileSystem, OsFileSystem
from streamtest.protocol.records import RecordInput, build_batch, parse_header

from .conftest import START_MS, batch_bases, config

CONFIG = config(
    segment_bytes=700,
    index_interval_bytes=150,
    retention_ms=10_000,
    file_delete_delay_ms=0,
)


@dataclass
class StoredBatch:
    base: int
    last: int
    data: bytes
    timestamp: int


class PartitionLogMachine(RuleBasedStateMachine):
    """The model: the batches appended (in order), the log start offset, and what
    was flushed."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START_MS)
        self.fs = self.make_fs()
        self.log = PartitionLog.open(self.fs, "t", 0, CONFIG, self.clock)
        self.batches: list[StoredBatch] = []
        self.log_start = 0
        self.end = 0
        self.flushed = 0  # everything below survives a crash
        self.checkpoint = (0, 0)  # (recovery point, log start) as last checkpointed

    def make_fs(self) -> FileSystem:
        return MemoryFileSystem()

    @property
    def leo(self) -> int:
        return self.end

    def teardown(self) -> None:
        self.log.abandon()

    # -- rules -----------------------------------------------------------------------------

    @rule(
        count=st.integers(1, 4),
        size=st.integers(0, 250),
        byte=st.integers(0, 255),
    )
    def append(self, count: int, size: int, byte: int) -> None:
        base = self.log.log_end_offset
        ts = self.clock.now_ms()
        data = build_batch(
            [RecordInput(None, bytes([byte]) * size, timestamp=ts) for _ in range(count)],
            base_offset=base,
            default_timestamp=ts,
        )
        header = parse_header(data)
        self.log.append(data, header)
        self.log.high_watermark = self.log.log_end_offset
        self.batches.append(StoredBatch(base, header.last_offset, bytes(data), ts))
        self.end = header.last_offset + 1

    @rule(data=st.data(), max_bytes=st.integers(0, 2000), at_least_one=st.booleans())
    def read(self, data: st.DataObject, max_bytes: int, at_least_one: bool) -> None:
        if self.leo == self.log_start:
            return
        offset = data.draw(st.integers(self.log_start, self.leo), label="offset")
        end = data.draw(st.one_of(st.none(), st.integers(offset, self.leo)), label="end")
        got = self.log.read(offset, max_bytes, at_least_one, end)
        bound = self.leo if end is None else end
        expected: list[StoredBatch] = []
        total = 0
        for b in self.batches if offset < bound else []:
            if b.last < offset or b.base >= bound:
                continue
            if total + len(b.data) > max_bytes and (expected or not at_least_one):
                break
            expected.append(b)
            total += len(b.data)
        assert batch_bases(got) == [b.base for b in expected]
        assert b"".join(bytes(x) for x in got) == b"".join(b.data for b in expected)

    @rule()
    def roll(self) -> None:
        self.log.roll()

    @rule(data=st.data())
    def delete_records(self, data: st.DataObject) -> None:
        offset = data.draw(st.integers(self.log_start, self.leo), label="offset")
        assert self.log.delete_records_before(offset) == max(offset, self.log_start)
        self.log_start = max(offset, self.log_start)
        segs = self.log.segments
        # Every segment wholly below the log start is gone (their data is safe
        # from crashes: it can no longer be read).
        assert len(segs) == 1 or segs[1].base_offset > self.log_start
        self.flushed = max(self.flushed, segs[0].base_offset)

    @rule(data=st.data())
    def truncate(self, data: st.DataObject) -> None:
        offset = data.draw(st.integers(self.log_start, self.leo), label="offset")
        self.log.truncate_to(offset)
        holder = next((b for b in self.batches if b.last >= offset), None)
        cut = offset if holder is None else min(offset, holder.base)
        self.batches = [b for b in self.batches if b.base < cut]
        self.end = cut
        self.log_start = min(self.log_start, self.leo)
        self.flushed = min(self.flushed, self.leo)
        # The log manager checkpoints the lowered recovery point and log start at once.
        self.checkpoint = (min(self.checkpoint[0], self.leo), min(self.checkpoint[1], self.leo))

    @rule(seconds=st.integers(0, 8))
    def retention(self, seconds: int) -> None:
        self.clock.advance(seconds)
        before = self.log_start
        self.log.delete_old_segments()
        start = self.log.log_start_offset
        assert start >= before
        if start > before:
            # Only whole segments went, and only those older than retention.ms.
            assert start == self.log.segments[0].base_offset
            assert start == self.leo or any(b.base == start for b in self.batches)
            gone = [b for b in self.batches if before <= b.base < start]
            assert all(self.clock.now_ms() - b.timestamp > 10_000 for b in gone)
        self.log_start = start
        self.flushed = max(self.flushed, self.log.segments[0].base_offset)

    @rule()
    def flush(self) -> None:
        self.log.flush()
        self.flushed = self.leo
        assert self.log.recovery_point == self.leo
        self.checkpoint = (self.log.recovery_point, self.log.log_start_offset)

    @rule()
    def crash_and_recover(self) -> None:
        self.log.abandon()
        self.fs.crash()
        recovery_point, log_start = self.checkpoint
        self.log = PartitionLog.open(
            self.fs,
            "t",
            0,
            CONFIG,
            self.clock,
            recovery_point=recovery_point,
            log_start_offset=log_start,
        )
        leo = self.log.log_end_offset
        assert leo >= self.flushed, "flushed data was lost"
        assert leo <= self.leo
        # What is left ends at a batch boundary (or where the log began).
        first = self.log.segments[0].base_offset
        assert leo in (0, first) or any(b.last + 1 == leo for b in self.batches)
        self.batches = [b for b in self.batches if b.last < leo]
        self.end = leo
        # The log start comes back from the checkpoint or the first segment.
        self.log_start = self.log.log_start_offset
        self.log.high_watermark = leo
        self.flushed = min(self.flushed, leo)

    @precondition(lambda self: self.batches)
    @rule()
    def reopen_cleanly(self) -> None:
        self.log.flush()
        self.log.close()
        self.log = PartitionLog.open(
            self.fs,
            "t",
            0,
            CONFIG,
            self.clock,
            recovery_point=self.leo,
            log_start_offset=self.log_start,
            clean_shutdown=True,
        )
        self.log.high_watermark = self.log.log_end_offset
        self.flushed = self.leo
        self.checkpoint = (self.leo, self.log_start)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def offsets_match(self) -> None:
        assert self.log.log_end_offset == self.leo
        assert self.log.log_start_offset == self.log_start

    @invariant()
    def everything_readable_is_what_was_appended(self) -> None:
        if self.leo == self.log_start:
            return
        got = self.log.read(self.log_start, 10**9, True)
        expected = [b for b in self.batches if b.last >= self.log_start]
        assert batch_bases(got) == [b.base for b in expected]
        assert b"".join(bytes(x) for x in got) == b"".join(b.data for b in expected)
        # Offsets stay dense.
        for prev, nxt in zip(expected, expected[1:], strict=False):
            assert nxt.base == prev.last + 1


class OsPartitionLogMachine(PartitionLogMachine):
    def make_fs(self) -> FileSystem:
        self.tmp = tempfile.mkdtemp(prefix="streamtest-log-")
        return OsFileSystem(self.tmp)

    def teardown(self) -> None:
        super().teardown()
        self.fs.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


_settings = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPartitionLogInMemory = PartitionLogMachine.TestCase
TestPartitionLogInMemory.settings = _settings
TestPartitionLogOnDisk = OsPartitionLogMachine.TestCase
TestPartitionLogOnDisk.settings = _settings
