"""log/retention.py: Kafka's retention rules, driven by a manual clock."""

from __future__ import annotations

from streamtest.broker.log.manager import LogManager

from .conftest import START_MS, append, batch, config, open_log


def seg_bases(log) -> list[int]:
    return [s.base_offset for s in log.segments]


def test_retention_ms_by_largest_timestamp(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(
        fs, clock, config(segment_bytes=2 * size, retention_ms=1000, file_delete_delay_ms=0)
    )
    for i in range(6):
        append(log, 1, timestamp=START_MS + 300 * i)  # segments 0, 2, 4
    assert seg_bases(log) == [0, 2, 4]
    # Segment 0's largest timestamp is +300, segment 2's +900, segment 4's +1500.
    assert log.delete_old_segments(START_MS + 1300) == 0
    assert log.delete_old_segments(START_MS + 1301) == 1
    assert seg_bases(log) == [2, 4] and log.log_start_offset == 2
    assert log.delete_old_segments(START_MS + 1901) == 1
    # The expired active segment is rolled first, then deleted: the log is empty.
    assert log.delete_old_segments(START_MS + 2501) == 1
    assert seg_bases(log) == [6] and log.log_start_offset == 6 and log.log_end_offset == 6
    assert log.delete_old_segments(START_MS + 10**9) == 0  # an empty active segment stays


def test_retention_bytes_keeps_at_least_the_limit(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(
        fs, clock, config(segment_bytes=2 * size, retention_bytes=3 * size, file_delete_delay_ms=0)
    )
    for _ in range(7):
        append(log)  # segments 0, 2, 4 full, 6 with one batch: 7 batches
    assert log.delete_old_segments(START_MS) == 2  # 7 -> 3 batches
    assert seg_bases(log) == [4, 6] and log.size_bytes == 3 * size
    assert log.delete_old_segments(START_MS) == 0


def test_nothing_at_or_above_the_high_watermark_is_deleted(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(
        fs, clock, config(segment_bytes=2 * size, retention_ms=0, file_delete_delay_ms=0)
    )
    for _ in range(5):
        append(log)
    log.high_watermark = 3  # segment 2 ([2, 4)) is not wholly committed
    assert log.delete_old_segments(START_MS + 10) == 1
    assert seg_bases(log) == [2, 4]
    log.high_watermark = 5
    assert log.delete_old_segments(START_MS + 10) == 2
    assert log.log_start_offset == 5


def test_compact_only_logs_keep_old_segments_but_drop_below_log_start(fs, clock):
    size = len(batch(0, 1, keys=[b"k"])[0])
    cfg = config(
        segment_bytes=2 * size, retention_ms=0, cleanup_policy="compact", file_delete_delay_ms=0
    )
    log = open_log(fs, clock, cfg)
    for _ in range(6):
        append(log, keys=[b"k"])
    assert log.delete_old_segments(START_MS + 10**6) == 0
    # The log start moved without deleting anything (as when a follower's log start
    # follows its leader's): the retention check deletes what lies below it.
    log._log_start = 4
    assert log.delete_old_segments(START_MS) == 2
    assert seg_bases(log) == [4]


def test_deleted_segments_wait_for_file_delete_delay(fs, clock):
    size = len(batch(0, 1)[0])
    log = open_log(
        fs, clock, config(segment_bytes=2 * size, retention_ms=100, file_delete_delay_ms=5000)
    )
    for _ in range(5):
        append(log, timestamp=START_MS)
    clock.advance(1)
    assert log.delete_old_segments() == 3
    deleted = sorted(n for n in fs.listdir("t-0") if n.endswith(".deleted"))
    assert "00000000000000000000.log.deleted" in deleted
    clock.advance(4.9)
    assert any(n.endswith(".deleted") for n in fs.listdir("t-0"))
    clock.advance(0.2)
    assert not any(n.endswith(".deleted") for n in fs.listdir("t-0"))


def test_manager_checks_retention_on_its_interval(fs, clock):
    size = len(batch(0, 1)[0])
    manager = LogManager(
        fs,
        clock,
        {"log.retention.check.interval.ms": "1000", "log.cleaner.enable": "false"},
        cleaner_mode="inline",
    )
    log = manager.get_or_create(
        "t",
        0,
        {"segment.bytes": str(2 * size), "retention.ms": "5000", "file.delete.delay.ms": "0"},
    )
    manager.start()
    for _ in range(5):
        append(log, timestamp=clock.now_ms())
    clock.advance(4.5)
    assert log.log_start_offset == 0
    clock.advance(1.6)  # retention passed at +5 s; the check at +6 s deletes
    assert log.log_start_offset == 5 and log.size_bytes == 0
    manager.shutdown()
