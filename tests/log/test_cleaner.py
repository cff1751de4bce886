"""log/cleaner.py and log/compaction.py: compaction checked against a model."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import signal
import time

import pytest

from streamtest.broker.log.cleaner import LogCleaner, log_to_clean
from streamtest.broker.log.compaction import MAP_ENTRY_BYTES
from streamtest.broker.log.config import LogManagerConfig
from streamtest.broker.log.manager import LogManager
from streamtest.broker.storage.fs import MemoryFileSystem
from streamtest.kit.wait import eventually
from streamtest.protocol.records import Compression, iter_records, parse_header, split_batches

from .conftest import START_MS, append, append_marker, batch, config, offsets_in, open_log

CODECS = [Compression.NONE, Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD]


def compact_log(fs, clock, **settings):
    base = {
        "cleanup_policy": "compact",
        "segment_bytes": 2000,
        "file_delete_delay_ms": 0,
        "delete_retention_ms": 1000,
        "min_cleanable_dirty_ratio": 0.01,
    }
    base.update(settings)
    return open_log(fs, clock, config(**base))


def all_batches(log):
    """Every stored batch (CRC-checked), as (header, records)."""
    out = []
    for header, view in log.iter_batches(log.log_start_offset, log.log_end_offset):
        split_batches(memoryview(bytes(view)))  # raises on a bad CRC or length
        out.append((header, list(iter_records(view))))
    return out


def clean_until_stable(log, cleaner, now_ms, passes=20):
    results = []
    for _ in range(passes):
        result = cleaner.clean(log, now_ms, force=True)
        if result is None:
            break
        results.append(result)
    return results


class Model:
    """What a compacted log must hold: each key's latest record."""

    def __init__(self) -> None:
        self.latest: dict[bytes, tuple[int, bytes | None, int]] = {}
        self.codec_of: dict[int, Compression] = {}

    def add(self, base: int, keys, values, timestamp, codec) -> None:
        self.codec_of[base] = codec
        for i, (k, v) in enumerate(zip(keys, values, strict=True)):
            if k is not None:
                self.latest[k] = (base + i, v, timestamp + i)


def fill(log, model, rng, batches: int, keyspace: int = 30, tombstones: float = 0.15) -> None:
    for _ in range(batches):
        n = rng.randrange(1, 6)
        keys = [b"key-%d" % rng.randrange(keyspace) for _ in range(n)]
        values = [
            None if rng.random() < tombstones else b"val-%d" % rng.randrange(10**6) for _ in keys
        ]
        codec = rng.choice(CODECS)
        ts = START_MS + rng.randrange(1000)
        base = append(log, values, keys=keys, compression=codec, timestamp=ts)
        model.add(base, keys, values, ts, codec)


@pytest.mark.parametrize("seed", range(4))
def test_latest_value_per_key_survives_at_its_offset(fs, clock, seed):
    rng = random.Random(seed)
    log = compact_log(fs, clock)
    model = Model()
    fill(log, model, rng, 120)
    log.roll()  # everything becomes cleanable
    end, start = log.log_end_offset, log.log_start_offset
    cleaner = LogCleaner()
    results = clean_until_stable(log, cleaner, clock.now_ms())
    assert results and not any(r.aborted for r in results)
    assert (log.log_end_offset, log.log_start_offset) == (end, start)
    batches = all_batches(log)
    seen: dict[bytes, tuple[int, bytes | None, int]] = {}
    last_offset = -1
    for header, records in batches:
        assert header.base_offset > last_offset
        assert header.compression in (model.codec_of[header.base_offset], Compression.NONE)
        if records:
            assert header.compression == model.codec_of[header.base_offset]
        last_offset = header.last_offset
        for r in records:
            assert r.key not in seen, "two records left for one key"
            seen[r.key] = (r.offset, r.value, r.timestamp)
    # Every key's latest record is there, at its offset, with its value and
    # timestamp; tombstones too, until their delete horizon.
    assert seen == model.latest
    assert offsets_sorted(batches)


def offsets_sorted(batches) -> bool:
    offs = [r.offset for _h, rs in batches for r in rs]
    return offs == sorted(offs)


def test_tombstones_go_after_delete_retention_ms(fs, clock):
    log = compact_log(fs, clock, delete_retention_ms=60_000)
    append(log, [b"a1", b"b1"], keys=[b"a", b"b"])
    append(log, [None], keys=[b"a"])  # a tombstone
    log.roll()
    cleaner = LogCleaner()
    cleaner.clean(log, clock.now_ms(), force=True)
    keys = {r.key: r.value for _h, rs in all_batches(log) for r in rs}
    assert keys == {b"b": b"b1", b"a": None}  # the tombstone stays, with a horizon
    horizon_batches = [h for h, rs in all_batches(log) if h.attributes & 0x40]
    assert horizon_batches and horizon_batches[0].base_timestamp == clock.now_ms() + 60_000
    clock.advance(59)
    append(log, [b"c1"], keys=[b"c"])
    log.roll()
    cleaner.clean(log, clock.now_ms(), force=True)
    assert None in {r.value for _h, rs in all_batches(log) for r in rs}
    clock.advance(2)
    append(log, [b"d1"], keys=[b"d"])
    log.roll()
    cleaner.clean(log, clock.now_ms(), force=True)
    keys = {r.key: r.value for _h, rs in all_batches(log) for r in rs}
    assert keys == {b"b": b"b1", b"c": b"c1", b"d": b"d1"}


def test_record_timestamps_survive_the_delete_horizon_rewrite(fs, clock):
    log = compact_log(fs, clock)
    append(
        log,
        [b"x", None, b"y"],
        keys=[b"k1", b"k2", b"k3"],
        timestamp=START_MS + 5,
        compression=Compression.ZSTD,
    )
    log.roll()
    LogCleaner().clean(log, clock.now_ms(), force=True)
    [(header, records)] = all_batches(log)
    assert header.compression == Compression.ZSTD and header.attributes & 0x40
    assert [(r.offset, r.timestamp) for r in records] == [
        (0, START_MS + 5),
        (1, START_MS + 6),
        (2, START_MS + 7),
    ]


@pytest.mark.parametrize("codec", CODECS)
def test_compressed_batches_are_rewritten_with_their_codec(fs, clock, codec):
    log = compact_log(fs, clock)
    append(log, [b"1", b"2", b"3"], keys=[b"a", b"b", b"c"], compression=codec)
    append(log, [b"22"], keys=[b"b"])
    log.roll()
    LogCleaner().clean(log, clock.now_ms(), force=True)
    (h1, r1), (h2, r2) = all_batches(log)
    assert h1.compression == codec and h1.base_offset == 0 and h1.last_offset == 2
    assert [(r.offset, r.key, r.value) for r in r1] == [(0, b"a", b"1"), (2, b"c", b"3")]
    assert [(r.offset, r.value) for r in r2] == [(3, b"22")]


def test_producers_last_batch_is_kept_empty(fs, clock):
    log = compact_log(fs, clock)
    append(log, [b"1", b"2"], keys=[b"k", b"k"], producer_id=7, producer_epoch=3, base_sequence=0)
    last = append(
        log, [b"3", b"4"], keys=[b"k", b"k"], producer_id=7, producer_epoch=3, base_sequence=2
    )
    append(log, [b"5"], keys=[b"k"])  # another writer supersedes every record of producer 7
    append(log, [b"x"], keys=[b"z"])
    log.roll()
    LogCleaner().clean(log, clock.now_ms(), force=True)
    batches = all_batches(log)
    mine = [h for h, _r in batches if h.producer_id == 7]
    assert len(mine) == 1
    empty = mine[0]
    assert empty.records_count == 0 and empty.base_offset == last and empty.last_offset == last + 1
    assert empty.base_sequence == 2 and empty.producer_epoch == 3
    assert [r.value for _h, rs in batches for r in rs] == [b"5", b"x"]


def test_aborted_transactions_and_markers(fs, clock):
    log = compact_log(fs, clock, delete_retention_ms=1000)
    log.active_producers = dict  # every producer expired: no last batch is kept
    first = append(
        log, [b"aborted"], keys=[b"a"], producer_id=1, producer_epoch=0, transactional=True
    )
    append(log, [b"plain"], keys=[b"p"])
    abort = append_marker(log, 1, 0, commit=False)
    log.add_aborted(1, first, abort, abort + 1)
    append(log, [b"committed"], keys=[b"c"], producer_id=2, producer_epoch=0, transactional=True)
    commit = append_marker(log, 2, 0, commit=True)
    append(log, [b"c2"], keys=[b"c"])  # supersedes the committed record
    log.roll()
    cleaner = LogCleaner()
    cleaner.clean(log, clock.now_ms(), force=True)
    batches = all_batches(log)
    values = [r.value for h, rs in batches if not h.is_control for r in rs]
    assert values == [b"plain", b"c2"]  # aborted data gone, superseded data gone
    markers = [h.base_offset for h, _r in batches if h.is_control]
    # The abort marker stays while its transaction's batches were just removed;
    # the commit marker stays because its batch was traversed in this pass.
    assert markers == [abort, commit]
    assert log.aborted_in_range(0, log.log_end_offset) == [(1, first)]
    # Next pass: no batch of either transaction is left; the markers get a horizon.
    append(log, [b"z"], keys=[b"z"])
    log.roll()
    cleaner.clean(log, clock.now_ms(), force=True)
    batches = all_batches(log)
    assert [h.base_offset for h, _r in batches if h.is_control] == [abort, commit]
    assert all(h.attributes & 0x40 for h, _r in batches if h.is_control)
    # Once the horizon passed, the markers go.
    clock.advance(2)
    append(log, [b"y"], keys=[b"y"])
    log.roll()
    cleaner.clean(log, clock.now_ms(), force=True)
    batches = all_batches(log)
    assert [h for h, _r in batches if h.is_control] == []
    assert [r.value for _h, rs in batches for r in rs] == [b"plain", b"c2", b"z", b"y"]


def test_keyless_records_are_removed(fs, clock):
    log = compact_log(fs, clock)
    append(log, [b"no key", b"keyed"], keys=[None, b"k"])
    log.roll()
    LogCleaner().clean(log, clock.now_ms(), force=True)
    assert [r.value for _h, rs in all_batches(log) for r in rs] == [b"keyed"]


def test_a_small_offset_map_takes_several_passes(fs, clock):
    rng = random.Random(7)
    log = compact_log(fs, clock, segment_bytes=1500)
    model = Model()
    fill(log, model, rng, 150, keyspace=60, tombstones=0)
    log.roll()
    cleaner = LogCleaner(LogManagerConfig(cleaner_dedupe_buffer_size=MAP_ENTRY_BYTES * 12))
    results = clean_until_stable(log, cleaner, clock.now_ms(), passes=200)
    assert len(results) > 3 and all(r.map_entries <= 12 for r in results)
    assert [r.first_dirty_offset for r in results] == sorted(r.first_dirty_offset for r in results)
    seen = {r.key: (r.offset, r.value, r.timestamp) for _h, rs in all_batches(log) for r in rs}
    assert seen == model.latest


def test_cleanable_range_stops_at_lso_active_segment_and_min_lag(fs, clock):
    log = compact_log(fs, clock, min_compaction_lag_ms=10_000, segment_bytes=400)
    for i in range(12):
        append(log, [b"v"], keys=[b"k%d" % (i % 3)], timestamp=clock.now_ms())
    ltc = log_to_clean(log, None, clock.now_ms())
    assert ltc.first_uncleanable_offset == 0  # every segment is younger than the lag
    clock.advance(11)
    ltc = log_to_clean(log, None, clock.now_ms())
    assert ltc.first_uncleanable_offset == log.active_segment.base_offset
    log.first_unstable_offset = 3
    ltc = log_to_clean(log, None, clock.now_ms())
    assert ltc.first_uncleanable_offset == 3
    log.first_unstable_offset = None
    log.high_watermark = 2
    assert log_to_clean(log, None, clock.now_ms()).first_uncleanable_offset == 2


def test_dirty_ratio_and_max_compaction_lag_choose_logs(fs, clock):
    log = compact_log(fs, clock, min_cleanable_dirty_ratio=0.9, segment_bytes=400)
    for i in range(12):
        append(log, [b"v"], keys=[b"k%d" % (i % 3)], timestamp=clock.now_ms())
    log.roll()
    cleaner = LogCleaner()
    cleaner.clean(log, clock.now_ms(), force=True)
    for i in range(3):
        append(log, [b"w"], keys=[b"k%d" % i], timestamp=clock.now_ms())
    log.roll()
    assert cleaner.grab_filthiest([log], clock.now_ms()) is None  # ratio below 0.9
    log.update_config(
        config(cleanup_policy="compact", min_cleanable_dirty_ratio=0.9, max_compaction_lag_ms=5000)
    )
    clock.advance(6)
    chosen = cleaner.grab_filthiest([log], clock.now_ms())
    assert chosen is not None and chosen.needs_compaction_now


def test_truncation_during_cleaning_aborts_the_swap(fs, clock):
    log = compact_log(fs, clock)
    for i in range(20):
        append(log, [b"v%d" % i], keys=[b"k%d" % (i % 4)])
    log.roll()
    cleaner = LogCleaner()
    job = cleaner.start(log_to_clean(log, None, clock.now_ms()), clock.now_ms())
    job.run()
    assert job.cleaned  # cleaned segments are ready to swap in...
    log.truncate_to(15)  # ...when a follower truncation rewrites the log
    assert cleaner.finish(job).aborted
    log.high_watermark = log.log_end_offset
    assert offsets_in(log.read(0, 10**6, True)) == list(range(15))  # nothing compacted
    assert not any(n.endswith((".cleaned", ".swap")) for n in fs.listdir("t-0"))
    assert ("t", 0) not in cleaner.checkpoints


def test_retention_during_cleaning_skips_the_gone_groups(fs, clock):
    log = compact_log(fs, clock, cleanup_policy="compact,delete", segment_bytes=300)
    for i in range(20):
        append(log, [b"v%d" % i], keys=[b"k%d" % (i % 4)])
    log.roll()
    cleaner = LogCleaner()
    job = cleaner.start(log_to_clean(log, None, clock.now_ms()), clock.now_ms())
    job.run()
    groups = len(job.cleaned)
    log.delete_records_before(log.segments[2].base_offset)
    result = cleaner.finish(job)
    assert not result.aborted and 0 < result.groups_swapped < groups
    assert not any(n.endswith((".cleaned", ".swap")) for n in fs.listdir("t-0"))
    latest = {r.key: r.value for _h, rs in all_batches(log) for r in rs}
    assert latest == {b"k0": b"v16", b"k1": b"v17", b"k2": b"v18", b"k3": b"v19"}


def test_cleaned_log_recovers_after_reopen(fs, clock):
    rng = random.Random(3)
    log = compact_log(fs, clock)
    model = Model()
    fill(log, model, rng, 60)
    log.roll()
    LogCleaner().clean(log, clock.now_ms(), force=True)
    expected = [bytes(b) for b in log.read(0, 10**9, True)]
    log.close()
    again = compact_log(fs, clock)  # a full scan with CRC checks
    again.high_watermark = again.log_end_offset
    assert b"".join(bytes(b) for b in again.read(0, 10**9, True)) == b"".join(expected)
    assert again.log_end_offset == log.log_end_offset


def test_manager_cleans_off_the_loop(fs):
    async def scenario() -> None:
        manager = LogManager(fs, None, {"log.cleaner.backoff.ms": "50"})
        # A separate process on an OS filesystem (no GIL shared with the loop), a
        # thread in memory.
        expected = "thread" if isinstance(fs, MemoryFileSystem) else "process"
        assert manager.cleaner_mode == expected
        log = manager.get_or_create(
            "c",
            0,
            {"cleanup.policy": "compact", "segment.bytes": "1000", "file.delete.delay.ms": "0"},
        )
        for i in range(300):
            data, header = batch(log.log_end_offset, [b"v%d" % i], keys=[b"k%d" % (i % 5)])
            log.append(data, header)
        log.high_watermark = log.log_end_offset
        log.roll()
        manager.start()
        deadline = time.monotonic() + 30
        while manager.last_clean is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert manager.last_clean is not None
        assert manager.cleaner.checkpoints[("c", 0)] == manager.last_clean.end_offset
        assert {r.key: r.value for r in log.records()} == {
            b"k%d" % k: b"v%d" % (295 + k) for k in range(5)
        }
        manager.shutdown()

    asyncio.run(scenario())
    # The cleaner checkpoint was written on shutdown.
    assert b"c 0 " in fs.read_bytes("cleaner-offset-checkpoint")


def test_helpers_sanity():
    data, header = batch(0, [b"x"], keys=[b"k"])
    assert parse_header(data).records_count == header.records_count == 1


def test_the_cleaner_process_writes_what_an_inline_pass_writes(tmp_path):
    from streamtest.broker.clock import ManualClock
    from streamtest.broker.storage.fs import OsFileSystem

    contents = []
    for mode in ("inline", "process"):
        fs = OsFileSystem(tmp_path / mode)
        clock = ManualClock(START_MS)
        manager = LogManager(fs, clock, {"log.cleaner.backoff.ms": "10"}, cleaner_mode=mode)
        log = manager.get_or_create(
            "c",
            0,
            {"cleanup.policy": "compact", "segment.bytes": "1500", "file.delete.delay.ms": "0"},
        )
        rng = random.Random(11)
        model = Model()
        fill(log, model, rng, 80)
        log.roll()

        async def scenario(manager=manager, clock=clock) -> None:
            manager.start()
            clock.advance(0)  # the first cleaner tick
            deadline = time.monotonic() + 60
            while manager.last_clean is None and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert manager.last_clean is not None and not manager.last_clean.aborted

        asyncio.run(scenario())
        # Compare decoded batches: gzip embeds the time, so CRCs may differ.
        contents.append(
            [
                (dataclasses.replace(h, crc=0), [(r.offset, r.key, r.value) for r in rs])
                for h, rs in all_batches(log)
            ]
        )
        latest = {
            r.key: (r.offset, r.value, r.timestamp) for _h, rs in all_batches(log) for r in rs
        }
        assert latest == model.latest
        assert not any(n.endswith((".cleaned", ".swap")) for n in fs.listdir("c-0"))
        manager.shutdown()
    assert contents[0] == contents[1]


def test_a_pass_in_the_cleaner_process_can_be_aborted(tmp_path):
    from streamtest.broker.clock import ManualClock
    from streamtest.broker.log.cleaner import CleaningAborted
    from streamtest.broker.log.cleaner_worker import CleanerProcess
    from streamtest.broker.storage.fs import OsFileSystem

    fs = OsFileSystem(tmp_path)
    clock = ManualClock(START_MS)
    log = compact_log(fs, clock, segment_bytes=20_000)
    for i in range(3000):
        append(log, [b"v%d" % i], keys=[b"k%d" % (i % 50)])
    log.roll()
    cleaner = LogCleaner()
    process = CleanerProcess(str(tmp_path))
    try:
        job = cleaner.start(log_to_clean(log, None, clock.now_ms()), clock.now_ms())
        # Hold the worker still until both the job and the abort are in its pipe:
        # otherwise, on a busy machine, it may finish the pass before the abort is
        # even written, and the test would depend on timing. It then sees the
        # abort at its first check (every 64 batches; this pass has 3000).
        process._start()
        os.kill(process._proc.pid, signal.SIGSTOP)
        try:
            future = process.submit(job)
            eventually(lambda: process._sent is job, timeout=30)
            process.abort(job)
        finally:
            os.kill(process._proc.pid, signal.SIGCONT)
        with pytest.raises(CleaningAborted):
            future.result(timeout=60)
        assert cleaner.finish(job, CleaningAborted()) is None
        assert not any(n.endswith(".cleaned") for n in fs.listdir("t-0"))
        # The process takes the next pass.
        job = cleaner.start(log_to_clean(log, None, clock.now_ms()), clock.now_ms())
        result = process.submit(job).result(timeout=60)
        job.adopt(result)
        assert not cleaner.finish(job).aborted
        assert len({r.key for r in log.records()}) == 50
    finally:
        process.stop()
