"""Log engine benchmarks (issue 10), each against a baseline measured in this run.

* append and read throughput of ``broker.log.PartitionLog`` on the in-memory and
  the OS filesystem, against wave 1's list-based log (``_wave1_storage.ListLog``, with
  ``DiskStorage`` as its journal for the data-dir case);
* RSS after 1 GB was written to an ``OsFileSystem`` (a subprocess each), against
  the list-based log holding the same data (target: <= 150 MB);
* recovery of a 1 GB data dir after a clean shutdown and after a crash, against
  ``DiskStorage``'s start-up scan of the same data (target: <= 0.5 s);
* compaction of 1 GB by the log manager's cleaner thread while an event loop runs
  a 1 ms ticker: the loop's largest lag, against the ticker alone (target:
  <= 50 ms).

Run: ``python benchmarks/bench_log.py [--quick] [--size-mb N]``
(``--quick``: 128 MB instead of 1 GB, fewer rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import Row, print_table  # type: ignore[import-not-found]
from _wave1_storage import DiskStorage, ListLog, Topic  # type: ignore[import-not-found]

from streamtest.broker.clock import ManualClock, RealClock
from streamtest.broker.log.config import LogConfig
from streamtest.broker.log.manager import LogManager
from streamtest.broker.log.partition import PartitionLog
from streamtest.broker.storage.fs import MemoryFileSystem, OsFileSystem
from streamtest.protocol.records import (
    Compression,
    RecordInput,
    build_batch,
    parse_header,
    set_base_offset,
)

MB = 1 << 20


def template(record_bytes: int, records: int, *, keyed: int = 0) -> bytearray:
    """A batch of ``records`` records of ``record_bytes`` bytes (keys cycle over
    ``keyed`` distinct keys when given)."""
    recs = [
        RecordInput(
            b"key-%06d" % (i % keyed) if keyed else None, b"x" * record_bytes, timestamp=1_000 + i
        )
        for i in range(records)
    ]
    return build_batch(recs, default_timestamp=1_000)


def batches_of(tmpl: bytearray, count: int, start: int = 0):
    """Yield ``(view, header)`` copies of ``tmpl`` at consecutive offsets."""
    header = parse_header(tmpl)
    step = header.last_offset_delta + 1
    for i in range(count):
        data = bytearray(tmpl)
        base = start + i * step
        set_base_offset(data, base)
        yield memoryview(data), dataclasses.replace(header, base_offset=base)


# -- append and read throughput -------------------------------------------------------------


class _ListWithJournal:
    """Today's data-dir path: the list-based log plus DiskStorage's journal write."""

    def __init__(self, root: Path) -> None:
        self.log = ListLog("t", 0)
        self.storage = DiskStorage(root)
        topic = Topic("t", uuid.uuid4(), [self.log], {})
        self.storage.topic_created(topic)

    @property
    def log_end_offset(self) -> int:
        return self.log.log_end_offset

    def append(self, batch, header) -> int:
        base = self.log.append(batch, header)
        self.storage.append(self.log, batch)
        return base

    def read(self, *args, **kwargs):
        return self.log.read(*args, **kwargs)

    def close(self) -> None:
        self.storage.close()


def _throughput(make, batches, tmpl_size: int, owned: bool = False) -> tuple[float, float, float]:
    """Return (appends/s, sequential read MB/s, tail fetches/s)."""
    log = make("a")
    t = time.perf_counter()
    if owned:
        for view, header in batches:
            log.append(view, header, owned=True)
    else:
        for view, header in batches:
            log.append(view, header)
    append_rate = len(batches) / (time.perf_counter() - t)
    if isinstance(log, PartitionLog):
        log.high_watermark = log.log_end_offset
    end = log.log_end_offset
    t = time.perf_counter()
    offset = 0
    total = 0
    step = parse_header(bytes(batches[0][0])).last_offset_delta + 1
    while offset < end:
        got = log.read(offset, MB, True)
        n = sum(len(b) for b in got)
        total += n
        offset += n // tmpl_size * step
    read_rate = total / (time.perf_counter() - t) / MB
    if hasattr(log, "close"):
        log.close()
    # A consumer that keeps up: each batch appended is fetched right away.
    log = make("b")
    t = time.perf_counter()
    pairs = batches[: min(len(batches), 4000)]
    for view, header in pairs:
        log.append(view, header)
        if isinstance(log, PartitionLog):
            log.high_watermark = log.log_end_offset
        log.read(header.base_offset, MB, True)
    tail_rate = len(pairs) / (time.perf_counter() - t)
    if hasattr(log, "close"):
        log.close()
    return append_rate, read_rate, tail_rate


def bench_throughput(quick: bool) -> list[Row]:
    rows: list[Row] = []
    clock = ManualClock()
    for label, tmpl in (
        ("1 KB batches", template(100, 10)),
        ("16 KB batches", template(1000, 16)),
    ):
        count = (20_000 if quick else 60_000) if len(tmpl) < 4096 else (4_000 if quick else 12_000)
        batches = list(batches_of(tmpl, count))
        tmp = Path(tempfile.mkdtemp(prefix="bench-log-"))
        try:
            baseline_mem = _throughput(lambda _phase: ListLog("t", 0), batches, len(tmpl))
            mem = _throughput(
                lambda _phase: PartitionLog.open(MemoryFileSystem(), "t", 0, LogConfig(), clock),
                batches,
                len(tmpl),
            )
            owned = _throughput(
                lambda _phase: PartitionLog.open(MemoryFileSystem(), "t", 0, LogConfig(), clock),
                batches,
                len(tmpl),
                owned=True,
            )
            old_dir, new_dir = tmp / "old", tmp / "new"
            baseline_disk = _throughput(
                lambda phase, d=old_dir: _ListWithJournal(d / phase), batches, len(tmpl)
            )
            disk = _throughput(
                lambda phase, d=new_dir: PartitionLog.open(
                    OsFileSystem(d / phase), "t", 0, LogConfig(), clock
                ),
                batches,
                len(tmpl),
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        base_mem, base_disk = "list log (today)", "list log + journal (today)"
        rows += [
            Row(f"append, memory fs, {label}", mem[0], baseline_mem[0], "/s", base_mem, True),
            Row(
                f"append, memory fs, owned buffers, {label}",
                owned[0],
                baseline_mem[0],
                "/s",
                base_mem,
                True,
            ),
            Row(f"append, os fs, {label}", disk[0], baseline_disk[0], "/s", base_disk, True),
            Row(
                f"sequential read, memory fs, {label}",
                mem[1],
                baseline_mem[1],
                "MB/s",
                base_mem,
                True,
            ),
            Row(
                f"sequential read, os fs, {label}",
                disk[1],
                baseline_disk[1],
                "MB/s",
                base_disk,
                True,
            ),
            Row(
                f"append + tail fetch, memory fs, {label}",
                mem[2],
                baseline_mem[2],
                "/s",
                base_mem,
                True,
            ),
            Row(
                f"append + tail fetch, os fs, {label}",
                disk[2],
                baseline_disk[2],
                "/s",
                base_disk,
                True,
            ),
        ]
    return rows


# -- children: RSS and data dirs --------------------------------------------------------------


def _rss_mb() -> tuple[float, float]:
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def child_write(kind: str, root: str, size_mb: int, segment_mb: int) -> dict[str, float]:
    """Write ``size_mb`` of 16 KB batches; return RSS figures (a subprocess)."""
    tmpl = template(1000, 16)
    count = size_mb * MB // len(tmpl)
    if kind == "new":
        manager = LogManager(
            OsFileSystem(root),
            RealClock(),
            {"log.segment.bytes": str(segment_mb * MB), "log.cleaner.enable": "false"},
        )
        log = manager.get_or_create("t", 0)
        for view, header in batches_of(tmpl, count):
            log.append(view, header)
        log.high_watermark = log.log_end_offset
        rss, peak = _rss_mb()
        manager.shutdown()
    elif kind == "killed":
        # A running broker killed after writing: the log manager flushed each
        # segment after its roll and checkpointed the recovery point; the active
        # segment (half full here) was not flushed.
        count = (size_mb * MB + segment_mb * MB // 2) // len(tmpl)

        async def write() -> dict[str, float]:
            manager = LogManager(
                OsFileSystem(root),
                RealClock(),
                {"log.segment.bytes": str(segment_mb * MB), "log.cleaner.enable": "false"},
            )
            log = manager.get_or_create("t", 0)
            manager.start()
            for i, (view, header) in enumerate(batches_of(tmpl, count)):
                log.append(view, header)
                if i % 256 == 0:
                    await asyncio.sleep(0)  # let the flushes after rolls run
            while log.recovery_point < log.active_segment.base_offset:
                await asyncio.sleep(0.01)
            rss, peak = _rss_mb()
            return {"rss_mb": rss, "peak_mb": peak}

        os._exit(_report(asyncio.run(write())))
    elif kind == "crashed":
        # Written without any flush or checkpoint, then the process dies.
        log = PartitionLog.open(
            OsFileSystem(root),
            "t",
            0,
            LogConfig.from_settings({"segment.bytes": str(segment_mb * MB)}),
            ManualClock(),
        )
        for view, header in batches_of(tmpl, count):
            log.append(view, header)
        rss, peak = _rss_mb()
        os._exit(_report({"rss_mb": rss, "peak_mb": peak}))
    else:
        old = _ListWithJournal(Path(root))
        for view, header in batches_of(tmpl, count):
            old.append(view, header)
        rss, peak = _rss_mb()
        old.close()
    return {"rss_mb": rss, "peak_mb": peak}


def _report(result: dict[str, float]) -> int:
    print(json.dumps(result), flush=True)
    return 0


def child_recover(kind: str, root: str) -> dict[str, float]:
    """Time the start-up of a data dir (a subprocess, so the page cache is the
    only thing warm)."""
    t = time.perf_counter()
    if kind == "old":
        topics = DiskStorage(Path(root)).load_topics()
        end = topics[0][3][0].log_end_offset  # (name, id, configs, partition logs)
    else:
        manager = LogManager(OsFileSystem(root), ManualClock(), {"log.cleaner.enable": "false"})
        logs = manager.load()
        end = logs[("t", 0)].log_end_offset
    elapsed = time.perf_counter() - t
    rss, peak = _rss_mb()
    return {"seconds": elapsed, "end": end, "rss_mb": rss, "peak_mb": peak}


def _run_child(*args: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_memory_and_recovery(size_mb: int, segment_mb: int) -> list[Row]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-log-"))
    rows: list[Row] = []
    try:
        new_dir, old_dir, crash_dir = tmp / "new", tmp / "old", tmp / "crashed"
        new = _run_child("write", "new", str(new_dir), str(size_mb), str(segment_mb))
        old = _run_child("write", "old", str(old_dir), str(size_mb), str(segment_mb))
        rows.append(
            Row(
                f"RSS after {size_mb} MB written (os fs)",
                new["rss_mb"],
                old["rss_mb"],
                "MB",
                "list log + journal (today)",
                False,
            )
        )
        rows.append(
            Row(
                f"peak RSS writing {size_mb} MB (os fs)",
                new["peak_mb"],
                old["peak_mb"],
                "MB",
                "list log + journal (today)",
                False,
            )
        )
        old_start = _run_child("recover", "old", str(old_dir))
        clean = statistics.median(
            _run_child("recover", "new", str(new_dir))["seconds"] for _ in range(3)
        )
        rows.append(
            Row(
                f"ready after clean shutdown, {size_mb} MB",
                clean * 1000,
                old_start["seconds"] * 1000,
                "ms",
                "DiskStorage scan (today)",
                False,
            )
        )
        # A crash: no flush, no checkpoint at all; every segment is scanned with CRCs.
        _run_child("write", "crashed", str(crash_dir), str(size_mb), str(segment_mb))
        crashed = _run_child("recover", "new", str(crash_dir))
        rows.append(
            Row(
                f"ready after crash (full scan), {size_mb} MB",
                crashed["seconds"] * 1000,
                old_start["seconds"] * 1000,
                "ms",
                "DiskStorage scan (today)",
                False,
            )
        )
        # The usual crash: checkpoints as the log manager leaves them (segments
        # flushed after each roll, the recovery point checkpointed): only the
        # active segment is scanned.
        shutil.rmtree(crash_dir)
        _run_child("write", "killed", str(crash_dir), str(size_mb), str(segment_mb))
        usual = _run_child("recover", "new", str(crash_dir))
        rows.append(
            Row(
                f"ready after crash (from checkpoint), {size_mb} MB",
                usual["seconds"] * 1000,
                old_start["seconds"] * 1000,
                "ms",
                "DiskStorage scan (today)",
                False,
            )
        )
        print(
            f"\nRSS target <= 150 MB after {size_mb} MB: {new['rss_mb']:.0f} MB "
            f"({'met' if new['rss_mb'] <= 150 else 'NOT met'}); "
            f"recovery target <= 500 ms: clean {clean * 1000:.0f} ms "
            f"({'met' if clean <= 0.5 else 'NOT met'}), crash with checkpoints "
            f"{usual['seconds'] * 1000:.0f} ms, crash without any checkpoint "
            f"{crashed['seconds'] * 1000:.0f} ms"
            f" ({'met' if crashed['seconds'] <= 0.5 else 'NOT met'})"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# -- compaction and loop lag ----------------------------------------------------------------------


async def _ticker(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(0.001)
        lags.append(loop.time() - t - 0.001)


async def _idle_lags(seconds: float) -> list[float]:
    lags: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(_ticker(stop, lags))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    return lags


def bench_compaction(size_mb: int, segment_mb: int) -> list[Row]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-log-"))
    try:
        fs = OsFileSystem(tmp)
        manager = LogManager(
            fs,
            RealClock(),
            {"log.cleaner.backoff.ms": "100", "log.segment.bytes": str(segment_mb * MB)},
        )
        log = manager.get_or_create(
            "c", 0, {"cleanup.policy": "compact", "file.delete.delay.ms": "0"}
        )
        # Batches of 16 records of 1 KB whose keys cycle over 32,000 keys (each
        # key rewritten about 30 times per GB); every other batch LZ4-compressed.
        templates = []
        for t in range(2_000):
            recs = [
                RecordInput(b"key-%06d" % (t * 16 + i), os.urandom(64) * 16, timestamp=2_000)
                for i in range(16)
            ]
            codec = Compression.LZ4 if t % 2 else Compression.NONE
            templates.append(build_batch(recs, compression=codec, default_timestamp=2_000))
        offset = 0
        written = 0
        i = 0
        while written < size_mb * MB:
            data = bytearray(templates[i % len(templates)])
            set_base_offset(data, offset)
            header = dataclasses.replace(parse_header(data), base_offset=offset)
            log.append(data, header)
            offset = header.last_offset + 1
            written += len(data)
            i += 1
        log.high_watermark = log.log_end_offset
        log.roll()
        size_before = log.size_bytes

        async def run() -> tuple[list[float], list[float], float]:
            idle = await _idle_lags(2.0)
            lags: list[float] = []
            stop = asyncio.Event()
            ticker = asyncio.create_task(_ticker(stop, lags))
            t = time.perf_counter()
            manager.start()
            while manager.last_clean is None:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - t
            stop.set()
            await ticker
            manager.shutdown()
            return idle, lags, elapsed

        load_before = os.getloadavg()[0]
        idle, lags, elapsed = asyncio.run(run())
        load_after = os.getloadavg()[0]
        over = sum(1 for lag in lags if lag > 0.050)
        result = manager.last_clean
        assert result is not None
        size_after = log.size_bytes
        worst = max(lags) * 1000
        print(
            f"\ncompaction of {size_before / MB:.0f} MB: {elapsed:.1f} s off the loop, "
            f"{size_after / MB:.1f} MB left, {result.stats.records_read} records read, "
            f"{result.stats.records_retained} kept, {result.map_entries} keys mapped; loop lag "
            f"max {worst:.1f} ms, p99 {sorted(lags)[int(len(lags) * 0.99)] * 1000:.1f} ms over "
            f"{len(lags)} ticks (target <= 50 ms: {'met' if worst <= 50 else 'NOT met'}); "
            f"the ticker alone: max {max(idle) * 1000:.1f} ms, "
            f"p99 {sorted(idle)[int(len(idle) * 0.99)] * 1000:.1f} ms; "
            f"{over} tick(s) over 50 ms; machine load average {load_before:.1f} -> "
            f"{load_after:.1f} on {os.cpu_count()} CPUs; "
            f"cleaner: {manager.cleaner_mode}; work on the loop: planning "
            f"{manager.loop_time_ms.get('plan', 0):.1f} ms, swap "
            f"{manager.loop_time_ms.get('swap', 0):.1f} ms"
        )
        return [
            Row(
                f"loop max lag while compacting {size_before / MB:.0f} MB",
                worst,
                max(idle) * 1000,
                "ms",
                "1 ms ticker alone",
                False,
            ),
            Row(
                "compaction throughput (off the loop)",
                size_before / MB / elapsed,
                size_before / MB / elapsed,
                "MB/s",
                "(no baseline: today never compacts)",
                True,
            ),
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="128 MB instead of 1 GB")
    parser.add_argument(
        "--size-mb", type=int, default=None, help="data size for RSS, recovery, compaction"
    )
    parser.add_argument("--segment-mb", type=int, default=64)
    parser.add_argument("--only", choices=["throughput", "memory", "compaction"], default=None)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, kind, root, *rest = args.child
        if what == "write":
            result = child_write(kind, root, int(rest[0]), int(rest[1]))
        else:
            result = child_recover(kind, root)
        _report(result)
        return
    size_mb = args.size_mb or (128 if args.quick else 1024)
    if args.only in (None, "throughput"):
        print_table("log engine: append and read", bench_throughput(args.quick))
    if args.only in (None, "memory"):
        print_table(
            f"log engine: memory and recovery ({size_mb} MB, {args.segment_mb} MB segments)",
            bench_memory_and_recovery(size_mb, args.segment_mb),
        )
    if args.only in (None, "compaction"):
        print_table(
            f"log engine: compaction ({size_mb} MB)", bench_compaction(size_mb, args.segment_mb)
        )


if __name__ == "__main__":
    main()
