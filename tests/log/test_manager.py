"""log/manager.py: loading, checkpoints, clean shutdown, deletion and scheduled work."""

from __future__ import annotations

from streamtest.broker.log.checkpoint import CLEAN_SHUTDOWN_FILE
from streamtest.broker.log.manager import LogManager

from .conftest import append, batch, offsets_in


def manager(fs, clock, **settings) -> LogManager:
    base = {"log.cleaner.enable": "false"}
    base.update(settings)
    return LogManager(fs, clock, base, cleaner_mode="inline")


def test_shutdown_and_load_with_checkpoints(fs, clock):
    m = manager(fs, clock)
    a = m.get_or_create("orders", 0)
    b = m.get_or_create("orders", 1, {"segment.bytes": "500"})
    for _ in range(20):
        append(a, 2)
        append(b, 1)
    b.delete_records_before(7)
    m.shutdown()
    assert fs.exists(CLEAN_SHUTDOWN_FILE)
    assert b"orders 1 7" in fs.read_bytes("log-start-offset-checkpoint")
    assert b"orders 0 40" in fs.read_bytes("recovery-point-offset-checkpoint")

    again = manager(fs, clock)
    logs = again.load({"orders": {"segment.bytes": "500"}})
    assert again.had_clean_shutdown and not fs.exists(CLEAN_SHUTDOWN_FILE)
    assert set(logs) == {("orders", 0), ("orders", 1)}
    a2, b2 = logs[("orders", 0)], logs[("orders", 1)]
    assert (a2.log_end_offset, a2.recovery_point, a2.high_watermark) == (40, 40, 40)
    assert (b2.log_start_offset, b2.log_end_offset) == (7, 20)
    assert offsets_in(b2.read(7, 10**6, True))[0] <= 7
    assert b2.config.segment_bytes == 500


def test_load_after_a_crash_recovers_from_the_checkpoints(fs, clock):
    m = manager(fs, clock)
    log = m.get_or_create("t", 0)
    for _ in range(5):
        append(log)
    log.flush()
    m.checkpoint_recovery_points()
    for _ in range(5):
        append(log)
    m.abandon()
    fs.crash()
    again = manager(fs, clock)
    logs = again.load()
    assert not again.had_clean_shutdown
    assert logs[("t", 0)].log_end_offset == 5


def test_flush_after_roll_moves_the_recovery_point(fs, clock):
    size = len(batch(0, 1)[0])
    m = manager(fs, clock)
    log = m.get_or_create("t", 0, {"segment.bytes": str(2 * size)})
    m.start()
    for _ in range(5):
        append(log)
    clock.advance(0)  # the flushes scheduled by the rolls run
    assert log.recovery_point == 4
    m.shutdown()


def test_flush_ms_flushes_on_schedule(fs, clock):
    m = manager(fs, clock, **{"log.flush.scheduler.interval.ms": "1000"})
    log = m.get_or_create("t", 0, {"flush.ms": "2000"})
    m.start()
    append(log)
    clock.advance(1.0)
    assert log.recovery_point == 0
    clock.advance(1.0)
    assert log.recovery_point == 1
    m.shutdown()


def test_checkpoints_are_written_on_their_intervals(fs, clock):
    m = manager(
        fs,
        clock,
        **{
            "log.flush.offset.checkpoint.interval.ms": "1000",
            "replica.high.watermark.checkpoint.interval.ms": "500",
        },
    )
    log = m.get_or_create("t", 0, {"flush.messages": "1"})
    m.start()
    append(log)
    clock.advance(1.0)
    assert fs.read_bytes("recovery-point-offset-checkpoint") == b"0\n1\nt 0 1\n"
    assert fs.read_bytes("replication-offset-checkpoint") == b"0\n1\nt 0 1\n"
    m.shutdown()


def test_delete_renames_then_removes_the_directory(fs, clock):
    m = manager(fs, clock)
    log = m.get_or_create("gone", 3, {"file.delete.delay.ms": "1000"})
    append(log)
    m.start()
    m.delete("gone", 3)
    assert m.get("gone", 3) is None
    [doomed] = fs.listdir("")
    assert doomed.startswith("gone-3.") and doomed.endswith("-delete")
    clock.advance(1.0)
    assert fs.listdir("") == []
    # A leftover from an interrupted delete is removed on load.
    fs.makedirs("x-0.abc-delete")
    manager(fs, clock).load()
    assert fs.listdir("") == []


def test_corrupt_checkpoint_means_full_recovery(fs, clock):
    m = manager(fs, clock)
    log = m.get_or_create("t", 0)
    for _ in range(3):
        append(log)
    m.shutdown()
    fs.remove(CLEAN_SHUTDOWN_FILE)
    fs.write_atomic("recovery-point-offset-checkpoint", b"garbage")
    logs = manager(fs, clock).load()
    assert logs[("t", 0)].log_end_offset == 3
