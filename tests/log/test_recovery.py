"""log/loader.py: recovery on open, and crash consistency on both filesystems."""

from __future__ import annotations

import logging
import random

import pytest

from streamtest.broker.log.partition import PartitionLog
from streamtest.protocol.records import parse_header

from .conftest import (
    START_MS,
    append,
    append_marker,
    batch,
    batch_bases,
    config,
    offsets_in,
    open_log,
)

SEG0 = "t-0/00000000000000000000.log"


def rewrite(fs, path: str, data: bytes) -> None:
    handle = fs.open(path)
    handle.truncate(0)
    handle.append(data)
    handle.close()


def test_corrupt_batch_truncates_and_is_logged_at_error(fs, clock, caplog):
    log = open_log(fs, clock)
    for _ in range(10):
        append(log, 3)
    position = log.active_segment.translate_offset(18).position
    log.close()
    data = bytearray(fs.read_bytes(SEG0))
    data[position + 70] ^= 0xFF  # inside the records of the batch at 18: its CRC fails
    rewrite(fs, SEG0, bytes(data))
    with caplog.at_level(logging.ERROR, logger="streamtest.broker.log"):
        again = open_log(fs, clock)
    assert again.log_end_offset == 18
    again.high_watermark = 18
    assert offsets_in(again.read(0, 10**6, True)) == list(range(18))
    message = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert SEG0 in message
    assert "offset 18" in message
    assert "CRC32C" in message
    assert "dropping 12 record(s) in 4 batch(es)" in message
    assert fs.file_size(SEG0) == position
    append(again)  # the log goes on from there
    assert again.log_end_offset == 19


def test_torn_tail_is_cut_and_later_segments_dropped(fs, clock, caplog):
    size = len(batch(0, 2)[0])
    log = open_log(fs, clock, config(segment_bytes=3 * size))
    for _ in range(9):
        append(log, 2)  # segments at 0, 6, 12
    log.close()
    seg1 = "t-0/00000000000000000006.log"
    rewrite(fs, seg1, fs.read_bytes(seg1)[: size + 20])  # the second batch is torn
    with caplog.at_level(logging.ERROR, logger="streamtest.broker.log"):
        again = open_log(fs, clock)
    assert again.log_end_offset == 8
    assert [s.base_offset for s in again.segments] == [0, 6]
    assert not fs.exists("t-0/00000000000000000012.log")
    message = " ".join(r.getMessage() for r in caplog.records)
    assert seg1 in message and "torn batch" in message and "later segment" in message


def test_segments_below_the_recovery_point_are_trusted(fs, clock):
    size = len(batch(0, 2)[0])
    log = open_log(fs, clock, config(segment_bytes=3 * size))
    for _ in range(6):
        append(log, 2)
    log.flush()
    log.close()
    data = bytearray(fs.read_bytes(SEG0))
    data[size + 70] ^= 0xFF  # damage a flushed segment: it is not re-checked
    rewrite(fs, SEG0, bytes(data))
    again = open_log(fs, clock, recovery_point=12)
    assert again.log_end_offset == 12
    assert not any(s.needs_recovery for s in again.segments)
    # Scanning from offset 0 finds it.
    assert open_log(fs, clock, recovery_point=0).log_end_offset == 2


def test_missing_or_corrupt_index_is_rebuilt(fs, clock):
    size = len(batch(0, 1)[0])
    cfg = config(segment_bytes=10 * size, index_interval_bytes=1)
    log = open_log(fs, clock, cfg)
    for i in range(25):
        append(log, 1, timestamp=START_MS + i)
    log.flush()
    log.close()
    fs.remove("t-0/00000000000000000000.index")
    rewrite(fs, "t-0/00000000000000000010.index", b"\x00" * 13)
    again = open_log(fs, clock, cfg, recovery_point=25, clean_shutdown=True)
    again.high_watermark = 25
    assert offsets_in(again.read(3, 10**6, True)) == list(range(3, 25))
    assert again.segments[0].index.entries > 0
    assert again.offset_for_timestamp(START_MS + 12) == (12, START_MS + 12)


def test_interrupted_swap_is_completed(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=2 * size))
    for _ in range(5):
        append(log)  # segments 0, 2, 4
    log.flush()
    log.close()
    merged = fs.read_bytes(SEG0) + fs.read_bytes("t-0/00000000000000000002.log")
    fs.write_atomic("t-0/00000000000000000000.log.swap", merged)
    fs.write_atomic("t-0/00000000000000000004.log.cleaned", b"junk")
    fs.write_atomic("t-0/00000000000000000002.index.deleted", b"junk")
    again = open_log(fs, clock, recovery_point=5, clean_shutdown=True)
    assert [s.base_offset for s in again.segments] == [0, 4]
    names = fs.listdir("t-0")
    assert not [n for n in names if n.endswith((".swap", ".cleaned", ".deleted"))]
    assert "00000000000000000002.log" not in names
    again.high_watermark = 5
    assert offsets_in(again.read(0, 10**6, True)) == [0, 1, 2, 3, 4]


def test_lost_transaction_index_entry_is_rebuilt(fs, clock):
    log = open_log(fs, clock)
    append(log)
    first = append(log, producer_id=9, producer_epoch=0, transactional=True)
    append(log, producer_id=3, producer_epoch=0, transactional=True)  # still open
    marker = append_marker(log, 9, 0, commit=False)
    log.add_aborted(9, first, marker, 2)
    log.close()
    fs.remove("t-0/00000000000000000000.txnindex")
    again = open_log(fs, clock)
    assert again.aborted_in_range(0, again.log_end_offset) == [(9, first)]
    txn = again.segments[0].txn_index.entries[0]
    assert txn.last_stable_offset == 2  # producer 3's transaction was still open


def test_transaction_index_entries_past_the_end_are_dropped(fs, clock):
    log = open_log(fs, clock)
    first = append(log, producer_id=9, producer_epoch=0, transactional=True)
    marker = append_marker(log, 9, 0, commit=False)
    log.add_aborted(9, first, marker, marker + 1)
    log.close()
    rewrite(fs, SEG0, fs.read_bytes(SEG0)[:-10])  # the marker is torn away
    again = open_log(fs, clock)
    assert again.log_end_offset == 1
    assert again.aborted_in_range(0, 10) == []


def _random_batches(rng: random.Random, n: int) -> list[list[bytes]]:
    return [
        [bytes([rng.randrange(256)]) * rng.randrange(1, 300) for _ in range(rng.randrange(1, 4))]
        for _ in range(n)
    ]


@pytest.mark.parametrize("seed", range(12))
def test_crash_at_random_points_keeps_what_was_flushed(fs, clock, seed):
    rng = random.Random(seed)
    cfg = config(segment_bytes=rng.choice([300, 1000, 5000]), index_interval_bytes=200)
    log = open_log(fs, clock, cfg)
    appended: dict[int, bytes] = {}  # base offset -> batch bytes
    flushed_end = 0
    for values in _random_batches(rng, rng.randrange(5, 60)):
        data, header = batch(log.log_end_offset, values)
        log.append(data, header)
        appended[header.base_offset] = bytes(data)
        if rng.random() < 0.15:
            log.flush()
            flushed_end = log.log_end_offset
    recovery_point = log.recovery_point
    assert recovery_point == flushed_end
    fs.crash()
    again = open_log(fs, clock, cfg, recovery_point=recovery_point)
    # Nothing flushed is lost...
    assert again.log_end_offset >= flushed_end
    again.high_watermark = again.log_end_offset
    buffers = again.read(0, 10**9, True) if again.log_end_offset else []
    # ...no garbage is readable, and offsets are dense.
    expected_next = 0
    for base in batch_bases(buffers):
        assert base == expected_next
        expected_next = parse_header(appended[base]).last_offset + 1
    assert expected_next == again.log_end_offset
    got = b"".join(bytes(b) for b in buffers)
    assert got == b"".join(appended[b] for b in batch_bases(buffers))
    # And the log takes appends again.
    append(again)


@pytest.mark.parametrize("seed", range(4))
def test_reopen_without_crash_loses_nothing(fs, clock, seed):
    # A SIGKILL: the process dies but the OS keeps every write.
    rng = random.Random(seed)
    cfg = config(segment_bytes=800)
    log = open_log(fs, clock, cfg)
    for values in _random_batches(rng, 40):
        append(log, values)
    end = log.log_end_offset
    expected = b"".join(bytes(b) for b in log.read(0, 10**9, True))
    log.abandon()
    again = open_log(fs, clock, cfg)
    assert again.log_end_offset == end
    again.high_watermark = end
    assert b"".join(bytes(b) for b in again.read(0, 10**9, True)) == expected


def test_crash_loses_a_rolled_but_unflushed_segment_and_keeps_offsets_dense(fs, clock, caplog):
    size = len(batch(0, 1)[0])
    cfg = config(segment_bytes=2 * size)
    log = open_log(fs, clock, cfg)
    append(log)
    log.flush()
    for _ in range(5):
        append(log)  # segments 0 (partly flushed), 2, 4 ...
    fs.crash()
    with caplog.at_level(logging.ERROR, logger="streamtest.broker.log"):
        again: PartitionLog = open_log(fs, clock, cfg, recovery_point=1)
    assert again.log_end_offset == 1
    assert [s.base_offset for s in again.segments] == [0]
    assert "were lost" in caplog.text
