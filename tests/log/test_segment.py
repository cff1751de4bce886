"""log/segment.py: Kafka's segment roll rules and file naming."""

from __future__ import annotations

import random

from streamtest.broker.log.partition import PartitionLog

from .conftest import START_MS, append, batch, config, open_log


def bases(log: PartitionLog) -> list[int]:
    return [s.base_offset for s in log.segments]


def test_file_names_are_twenty_digit_base_offsets(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=size))
    for _ in range(3):
        append(log)
    log.flush()
    names = sorted(fs.listdir("t-0"))
    assert "00000000000000000000.log" in names
    assert "00000000000000000002.log" in names
    assert "00000000000000000001.index" in names and "00000000000000000001.timeindex" in names


def test_segment_bytes_rolls_before_a_batch_that_would_not_fit(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(fs, clock, config(segment_bytes=3 * size))
    for _ in range(7):
        append(log)
    assert bases(log) == [0, 3, 6]
    assert [s.size for s in log.segments] == [3 * size, 3 * size, size]


def test_segment_ms_counts_from_the_first_batch_timestamp(fs, clock):
    log = open_log(fs, clock, config(segment_ms=1000))
    append(log, timestamp=START_MS)
    append(log, timestamp=START_MS + 1000)  # exactly segment.ms later: no roll yet
    assert bases(log) == [0]
    append(log, timestamp=START_MS + 1001)
    assert bases(log) == [0, 2]
    # Wall time is irrelevant when batches carry timestamps (Kafka's rule).
    clock.advance(10_000)
    append(log, timestamp=START_MS + 1002)
    assert bases(log) == [0, 2]


def test_segment_ms_without_timestamps_uses_the_segment_age(fs, clock):
    log = open_log(fs, clock, config(segment_ms=1000))
    append(log, timestamp=-1)
    clock.advance(0.5)
    append(log, timestamp=-1)
    assert bases(log) == [0]
    clock.advance(0.6)
    append(log, timestamp=-1)
    assert bases(log) == [0, 2]


def test_segment_jitter_shortens_segment_ms(fs, clock):
    cfg = config(segment_ms=1000, segment_jitter_ms=1000)
    log = PartitionLog.open(fs, "t", 0, cfg, clock, rng=random.Random(5))
    jitter = log.active_segment.roll_jitter_ms
    assert 0 < jitter < 1000
    append(log, timestamp=START_MS)
    append(log, timestamp=START_MS + 1000 - jitter)
    assert bases(log) == [0]
    append(log, timestamp=START_MS + 1001 - jitter)
    assert bases(log) == [0, 2]


def test_max_compaction_lag_rolls_a_compacted_segment(fs, clock):
    log = open_log(fs, clock, config(cleanup_policy="compact", max_compaction_lag_ms=100))
    append(log, keys=[b"k"], timestamp=START_MS)
    append(log, keys=[b"k"], timestamp=START_MS + 101)
    assert bases(log) == [0, 1]


def test_a_full_offset_index_rolls_the_segment(fs, clock):
    log = open_log(fs, clock, config(segment_index_bytes=16, index_interval_bytes=0))
    for _ in range(6):
        append(log)
    # Each append after the first adds an index entry; two entries fill it.
    assert len(log.segments) > 1
    assert all(s.index.entries <= 2 for s in log.segments)


def test_translate_offset_and_next_offset_after_reopen(fs, clock):
    cfg = config(index_interval_bytes=100)
    log = open_log(fs, clock, cfg)
    for _ in range(30):
        append(log, 2)
    log.close()
    again = open_log(fs, clock, cfg, recovery_point=60, clean_shutdown=True)
    seg = again.active_segment
    assert seg.next_offset == 60
    info = seg.translate_offset(37)
    assert (info.base_offset, info.last_offset) == (36, 37)
    assert seg.translate_offset(60) is None
