"""log/partition.py: the partition log API the broker uses."""

from __future__ import annotations

import errno

import pytest

from streamtest.broker.log.errors import OffsetOutOfRangeError, UnexpectedAppendOffsetError
from streamtest.protocol.exceptions import CorruptRecordBatch
from streamtest.protocol.records import Compression, parse_header

from .conftest import (
    START_MS,
    append,
    append_marker,
    batch,
    batch_bases,
    config,
    offsets_in,
    open_log,
    with_base,
)


def test_append_assigns_nothing_and_moves_the_log_end(fs, clock):
    log = open_log(fs, clock)
    assert (log.log_start_offset, log.log_end_offset, log.high_watermark) == (0, 0, 0)
    assert append(log, 3) == 0
    assert append(log, 2) == 3
    assert log.log_end_offset == 5
    data, header = batch(7)
    with pytest.raises(UnexpectedAppendOffsetError):
        log.append(data, header)
    assert fs.listdir("t-0") == ["00000000000000000000.log"]


def test_read_returns_whole_batches_within_max_bytes(fs, clock):
    log = open_log(fs, clock)
    for _ in range(10):
        append(log, 2)  # offsets 0..19, batches of 2
    size = len(batch(0, 2)[0])
    # From the batch holding offset 5 on.
    assert batch_bases(log.read(5, 10**6, True)) == list(range(4, 20, 2))
    assert batch_bases(log.read(0, 3 * size, False)) == [0, 2, 4]
    assert batch_bases(log.read(0, 3 * size - 1, False)) == [0, 2]
    # KIP-74: the first batch comes back even when it alone is too large.
    assert batch_bases(log.read(0, 1, True)) == [0]
    assert log.read(0, 1, False) == []
    # ``end`` bounds by base offset (read_committed passes the LSO).
    assert batch_bases(log.read(0, 10**6, True, end=6)) == [0, 2, 4]
    assert batch_bases(log.read(0, 10**6, True, end=5)) == [0, 2, 4]
    assert log.read(20, 100, True) == []
    assert log.read(6, 100, True, end=6) == []
    assert offsets_in(log.read(19, 100, True)) == [18, 19]


def test_read_spans_segments(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=3 * size))
    for _ in range(10):
        append(log)
    assert [s.base_offset for s in log.segments] == [0, 3, 6, 9]
    assert batch_bases(log.read(2, 10**6, True)) == list(range(2, 10))
    assert batch_bases(log.read(2, 4 * size, True)) == [2, 3, 4, 5]
    assert batch_bases(log.read(2, 10**6, True, end=7)) == [2, 3, 4, 5, 6]
    assert batch_bases(log.read(4, 10**6, True, end=6)) == [4, 5]


def test_read_buffers_stay_valid_after_deletion_and_truncation(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=2 * size, file_delete_delay_ms=0))
    for _ in range(6):
        append(log)
    buffers = log.read(0, 10**6, True)
    expected = [bytes(b) for b in buffers]
    log.delete_records_before(4)
    log.truncate_to(5)
    for _ in range(5):
        append(log, [b"overwrite"])
    assert [bytes(b) for b in buffers] == expected
    assert offsets_in(buffers) == list(range(6))


def test_out_of_range_reads(fs, clock):
    log = open_log(fs, clock)
    append(log, 5)
    log.delete_records_before(3)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(2, 100, True)
    assert offsets_in(log.read(3, 1000, True)) == [0, 1, 2, 3, 4]  # whole batches


def test_leader_epoch_stamped_and_cached(fs, clock):
    log = open_log(fs, clock)
    data, header = batch(0, 2)
    log.append(data, header, leader_epoch=3)
    assert parse_header(log.read(0, 1000, True)[0]).partition_leader_epoch == 3
    data, header = batch(2, 1)
    log.append(data, header, leader_epoch=3)
    data, header = batch(3, 1)
    log.append(data, header, leader_epoch=5)
    assert log.epochs.entries() == [(3, 0), (5, 3)]
    assert log.end_offset_for_epoch(3) == (3, 3)
    assert log.end_offset_for_epoch(5) == (5, 4)
    assert log.end_offset_for_epoch(4) == (3, 3)
    assert log.end_offset_for_epoch(9) == (-1, -1)
    assert log.latest_epoch == 5


def test_follower_append(fs, clock):
    leader = open_log(fs, clock)
    from streamtest.broker.storage.fs import MemoryFileSystem

    follower = open_log(MemoryFileSystem(), clock)
    for epoch in (0, 0, 1):
        data, header = batch(leader.log_end_offset, 2)
        leader.append(data, header, leader_epoch=epoch)
    leader.high_watermark = leader.log_end_offset
    records = b"".join(bytes(b) for b in leader.read(0, 10**6, True))
    assert follower.append_as_follower(records) == (0, 5)
    assert follower.log_end_offset == 6
    assert follower.epochs.entries() == [(0, 0), (1, 4)]
    with pytest.raises(UnexpectedAppendOffsetError):
        follower.append_as_follower(records)
    # A gap (the leader compacted it away) is accepted.
    data, _ = batch(10, 1)
    assert follower.append_as_follower(data) == (10, 10)
    assert follower.log_end_offset == 11
    data[-1] ^= 0xFF  # the CRC no longer matches
    with pytest.raises(CorruptRecordBatch):
        follower.append_as_follower(data)
    assert follower.log_end_offset == 11


def test_iter_batches_and_records(fs, clock):
    size = len(batch(0, 2)[0])
    log = open_log(fs, clock, config(segment_bytes=2 * size))
    for _ in range(5):
        append(log, 2)
    got = [(h.base_offset, h.records_count) for h, _b in log.iter_batches()]
    assert got == [(0, 2), (2, 2), (4, 2), (6, 2), (8, 2)]
    assert [h.base_offset for h, _b in log.iter_batches(3, 7)] == [2, 4, 6]
    assert [r.offset for r in log.records()] == list(range(10))


def test_offset_for_timestamp_uses_the_time_index(fs, clock):
    log = open_log(fs, clock, config(index_interval_bytes=1, segment_bytes=600))
    for i in range(20):
        append(log, 2, timestamp=START_MS + 10 * i)  # records at +10i and +10i+1
    assert len(log.segments) > 2
    assert log.offset_for_timestamp(START_MS) == (0, START_MS)
    assert log.offset_for_timestamp(START_MS + 55) == (12, START_MS + 60)
    assert log.offset_for_timestamp(START_MS + 61) == (13, START_MS + 61)
    assert log.offset_for_timestamp(START_MS + 1000) is None
    log.delete_records_before(15)
    assert log.offset_for_timestamp(START_MS) == (15, START_MS + 71)


def test_max_timestamp_offset_skips_markers(fs, clock):
    log = open_log(fs, clock)
    append(log, 3, timestamp=START_MS + 100)  # 100, 101, 102
    append(log, 2, timestamp=START_MS)
    assert log.max_timestamp_offset() == (2, START_MS + 102)
    append(log, 1, timestamp=START_MS + 50, producer_id=7, producer_epoch=0, transactional=True)
    append_marker(log, 7, 0, commit=True, ts=START_MS + 500)
    assert log.max_timestamp_offset() == (2, START_MS + 102)
    assert open_log(fs, clock, directory="empty").max_timestamp_offset() is None


def test_delete_records_before_deletes_whole_segments(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=2 * size, file_delete_delay_ms=0))
    for _ in range(8):
        append(log)
    assert [s.base_offset for s in log.segments] == [0, 2, 4, 6]
    assert log.delete_records_before(5) == 5
    assert [s.base_offset for s in log.segments] == [4, 6]
    assert sorted(n for n in fs.listdir("t-0") if n.endswith(".log")) == [
        "00000000000000000004.log",
        "00000000000000000006.log",
    ]
    assert log.delete_records_before(2) == 5  # never backwards
    with pytest.raises(OffsetOutOfRangeError):
        log.delete_records_before(9)
    # Up to the log end: the active segment is rolled and freed too.
    assert log.delete_records_before(8) == 8
    assert [s.base_offset for s in log.segments] == [8] and log.size_bytes == 0
    append(log)
    assert offsets_in(log.read(8, 100, True)) == [8]


def test_truncate_to_removes_whole_batches(fs, clock):
    size = len(batch(0, 3)[0])
    log = open_log(fs, clock, config(segment_bytes=2 * size, file_delete_delay_ms=0))
    for epoch in range(4):
        data, header = batch(log.log_end_offset, 3)
        log.append(data, header, leader_epoch=epoch)  # batches at 0, 3, 6, 9
    log.high_watermark = 12
    log.write_snapshot(6, b"s6")
    log.write_snapshot(9, b"s9")
    assert log.truncate_to(7)  # inside the batch at 6: it goes whole
    assert log.log_end_offset == 6 and log.high_watermark == 6
    assert log.epochs.entries() == [(0, 0), (1, 3)]
    assert log.latest_snapshot() == (6, b"s6")
    assert offsets_in(log.read(0, 10**6, True)) == list(range(6))
    assert not log.truncate_to(6)
    append(log, 1)
    assert log.log_end_offset == 7


def test_truncate_fully_and_start_at(fs, clock):
    log = open_log(fs, clock, config(file_delete_delay_ms=0))
    for _ in range(3):
        append(log, 2)
    log.epochs.assign(4, 0)
    log.write_snapshot(2, b"x")
    log.truncate_fully_and_start_at(100)
    assert (log.log_start_offset, log.log_end_offset, log.high_watermark) == (100, 100, 100)
    assert log.epochs.entries() == [] and log.latest_snapshot() is None
    assert [s.base_offset for s in log.segments] == [100]
    append(log, 1)
    assert offsets_in(log.read(100, 1000, True)) == [100]


def test_aborted_transactions(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=4 * size, file_delete_delay_ms=0))
    first = append(log, producer_id=5, producer_epoch=0, transactional=True)
    append(log)
    marker = append_marker(log, 5, 0, commit=False)
    log.add_aborted(5, first, marker, marker + 1)
    log.add_aborted(5, first, marker, marker + 1)  # a replay: ignored
    t2 = append(log, producer_id=6, producer_epoch=0, transactional=True)
    for _ in range(4):
        append(log)
    m2 = append_marker(log, 6, 0, commit=False)
    log.add_aborted(6, t2, m2, m2 + 1)
    assert log.aborted_in_range(0, log.log_end_offset) == [(5, 0), (6, t2)]
    assert log.aborted_in_range(marker + 1, log.log_end_offset) == [(6, t2)]
    assert log.aborted_in_range(0, 1) == [(5, 0)]
    with pytest.raises(OffsetOutOfRangeError):
        log.add_aborted(7, 0, log.log_end_offset, 0)
    # The entry lives with the marker's segment and goes with it.
    log.delete_records_before(m2)
    assert log.aborted_in_range(m2, log.log_end_offset) == [(6, t2)]
    assert log.segments[0].base_offset > marker
    assert all(t.producer_id == 6 for s in log.segments for t in s.txn_index.entries)


def test_snapshots(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=2 * size, file_delete_delay_ms=0))
    rolls: list[int] = []
    log.on_roll = rolls.append
    for _ in range(6):
        append(log)
    assert rolls == [2, 4]
    for off in rolls:
        log.write_snapshot(off, b"state@%d" % off)
    assert log.latest_snapshot() == (4, b"state@4")
    assert log.latest_snapshot(3) == (2, b"state@2")
    assert log.latest_snapshot(1) is None
    assert "00000000000000000004.snapshot" in fs.listdir("t-0")
    with pytest.raises(OffsetOutOfRangeError):
        log.write_snapshot(99, b"")
    log.delete_records_before(4)
    assert log.snapshots.offsets() == [4]


def test_flush_moves_the_recovery_point_and_flush_messages(fs, clock):
    log = open_log(fs, clock)
    append(log, 3)
    assert log.recovery_point == 0 and log.unflushed_messages == 3
    log.flush()
    assert log.recovery_point == 3
    log2 = open_log(fs, clock, config(flush_messages=4), directory="t-1")
    for _ in range(3):
        append(log2)
    assert log2.recovery_point == 0
    append(log2)
    assert log2.recovery_point == 4


@pytest.mark.parametrize("kind", ["enospc", "eio", "partial"])
def test_failed_write_leaves_nothing_visible(fs, clock, kind):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=3 * size))
    append(log)
    append(log)
    if kind == "enospc":
        fs.set_capacity(fs.used_bytes() + size // 2)
    else:
        fs.fail_next(1, errno.EIO, ops=["append"], partial=kind == "partial")
    data, header = batch(2)
    with pytest.raises(OSError):
        log.append(data, header)
    assert log.log_end_offset == 2
    assert offsets_in(log.read(0, 10**6, True)) == [0, 1]
    assert log.active_segment.size == 2 * size
    fs.set_capacity(None)
    append(log)  # the disk has room again
    append(log)  # and a roll works too
    assert offsets_in(log.read(0, 10**6, True)) == [0, 1, 2, 3]


def test_enospc_during_roll_leaves_nothing_visible(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=size, index_interval_bytes=0))
    append(log)
    fs.fail_next(1, errno.ENOSPC, ops=["create"])
    data, header = batch(1)
    with pytest.raises(OSError):
        log.append(data, header)
    assert log.log_end_offset == 1 and len(log.segments) == 1
    log.append(data, header)
    assert [s.base_offset for s in log.segments] == [0, 1]


def test_reopen_after_clean_close(fs, clock):
    size = len(batch(0, 2)[0])
    cfg = config(segment_bytes=3 * size, index_interval_bytes=1)
    log = open_log(fs, clock, cfg)
    for i in range(10):
        append(log, 2, timestamp=START_MS + i, compression=Compression.GZIP)
    log.flush()
    log.close()
    again = open_log(fs, clock, cfg, recovery_point=20, clean_shutdown=True)
    assert again.log_end_offset == 20
    assert [s.base_offset for s in again.segments] == [s.base_offset for s in log.segments]
    again.high_watermark = 20
    assert offsets_in(again.read(0, 10**6, True)) == list(range(20))
    assert again.max_timestamp_offset() == (19, START_MS + 9 + 1)
    assert again.offset_for_timestamp(START_MS + 5) == (9, START_MS + 5)
    append(again, 1)
    assert again.log_end_offset == 21


def test_high_watermark_is_clamped(fs, clock):
    log = open_log(fs, clock)
    append(log, 5)
    log.high_watermark = 100
    assert log.high_watermark == 5
    log.delete_records_before(3)
    log.high_watermark = 0
    assert log.high_watermark == 3
    log.first_unstable_offset = 4
    assert log.last_stable_offset == 3  # never past the high watermark
    log.high_watermark = 5
    assert log.last_stable_offset == 4
    log.first_unstable_offset = None
    assert log.last_stable_offset == 5


def test_with_base_helper_keeps_header_consistent():
    data, header = batch(0)
    assert with_base(header, 9).base_offset == 9


def test_a_failed_fsync_with_flush_messages_takes_the_batch_back(fs, clock):
    log = open_log(fs, clock, config(flush_messages=1))
    append(log)
    assert log.recovery_point == 1
    fs.fail_next(1, errno.EIO, ops=["fsync"])
    data, header = batch(1)
    with pytest.raises(OSError):
        log.append(data, header)
    assert log.log_end_offset == 1 and log.recovery_point == 1
    log.high_watermark = 1
    assert offsets_in(log.read(0, 10**6, True)) == [0]
    append(log)
    assert log.log_end_offset == 2 and log.recovery_point == 2


def test_owned_buffers_are_kept_without_a_copy(clock):
    from streamtest.broker.storage.fs import MemoryFileSystem

    log = open_log(MemoryFileSystem(), clock)
    data, header = batch(0, 2)
    frame = bytearray(b"....") + data  # a request frame; the batch is a view of it
    view = memoryview(frame)[4:]
    log.append(view, header, owned=True)
    log.high_watermark = 2
    [got] = log.read(0, 1000, True)
    assert got is view or got.obj is frame  # no copy
    assert offsets_in([got]) == [0, 1]
