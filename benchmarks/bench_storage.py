"""The broker on its log engine (issue 10), end to end, each against a peer
measured in this run.

* throughput with a data dir: a ``streamtest broker --data-dir`` process, produce
  of 100-byte values vs librdkafka's mock cluster (target >= 1.0x) and consume vs
  mockafka-py (target >= 4x), with the same client settings;
* memory: the broker's RSS after ``--size-mb`` (1 GB) was produced to a data-dir
  broker (target <= 150 MB), beside an in-memory broker holding the same data;
* recovery: a restart of that broker on its data dir until Metadata answers,
  after a clean stop (SIGTERM) and after SIGKILL, vs the start of a broker with
  an empty data dir (target <= 0.5 s);
* bounded memory with retention: an in-memory broker flooded for ``--flood-s``
  seconds (180 by default) on a topic with ``retention.bytes``; its RSS over time
  (it must level off, not grow with what was written).

Run: ``python benchmarks/bench_storage.py [--quick]`` (``--quick``: 256 MB, a
20 s flood, fewer records).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import Row, mock_cluster, print_table, verdict  # type: ignore[import-not-found]
from bench_broker import (  # type: ignore[import-not-found]
    consume_rate,
    ensure_topic,
    mockafka_consume_rate,
    produce_rate,
)
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

MB = 1 << 20


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@contextmanager
def broker_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``streamtest broker ARGS`` and yield ``(process, bootstrap)``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamtest.cli", "broker", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        if not address:
            raise RuntimeError(f"broker {args} did not start")
        yield proc, address
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def fill(bootstrap: str, topic: str, size_mb: int) -> None:
    """Produce ``size_mb`` MB of 16 KB values (4 partitions) and wait for them."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 4, 1)])[topic].result(10)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "acks": "1",
            "batch.size": 1_000_000,
            "compression.type": "none",
        }
    )
    value = os.urandom(16 * 1024)
    for i in range(size_mb * 64):
        while True:
            try:
                producer.produce(topic, value=value, partition=i % 4)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(300) != 0:
        raise RuntimeError("not every record was delivered")


def ready_seconds(data_dir: Path) -> float:
    """Start a broker on ``data_dir`` in this (already warm) interpreter; return
    seconds until it listens with every log recovered (the interpreter's own start
    is not the broker's recovery, so it is left out)."""
    from streamtest import EmbeddedKafka

    started = time.perf_counter()
    kafka = EmbeddedKafka(data_dir=data_dir).start()
    elapsed = time.perf_counter() - started
    try:
        Producer({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(timeout=60)
    finally:
        kafka.stop()
    return elapsed


def flood(seconds: float, retention_mb: int) -> tuple[list[tuple[float, float]], float]:
    """Flood an in-memory broker with retention; return ``(t, RSS MB)`` samples and
    the MB produced."""
    with broker_process(
        "--setting",
        "log.retention.check.interval.ms=1000",
        "--setting",
        "log.segment.delete.delay.ms=0",
    ) as (proc, address):
        admin = AdminClient({"bootstrap.servers": address})
        cfg = {"retention.bytes": str(retention_mb * MB), "segment.bytes": str(8 * MB)}
        admin.create_topics([NewTopic("flood", 1, 1, config=cfg)])["flood"].result(10)
        producer = Producer(
            {"bootstrap.servers": address, "linger.ms": 20, "acks": "1", "batch.size": 1_000_000}
        )
        value = os.urandom(16 * 1024)
        samples = []
        delivered = [0]

        def on_delivery(err: object, _msg: object) -> None:
            if err is None:
                delivered[0] += 1

        start = time.perf_counter()
        next_sample = 0.0
        while (now := time.perf_counter() - start) < seconds:
            try:
                producer.produce("flood", value=value, on_delivery=on_delivery)
            except BufferError:
                producer.poll(0.05)
            producer.poll(0)
            if now >= next_sample:
                samples.append((now, rss_mb(proc.pid)))
                next_sample += max(seconds / 30, 0.5)
        producer.flush(60)
        samples.append((time.perf_counter() - start, rss_mb(proc.pid)))
        return samples, delivered[0] * len(value) / MB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--size-mb", type=int, default=None, help="data for the memory rows")
    ap.add_argument("--flood-s", type=float, default=None, help="seconds of flood")
    ns = ap.parse_args()
    size_mb = ns.size_mb or (256 if ns.quick else 1024)
    flood_s = ns.flood_s or (20.0 if ns.quick else 180.0)
    n = 100_000 if ns.quick else 500_000
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    try:
        # -- throughput with a data dir ---------------------------------------------
        with broker_process("--data-dir", str(work / "tput")) as (_p, address):
            topic = f"tput-{uuid.uuid4().hex[:6]}"
            ensure_topic(address, topic, 1)
            produced = produce_rate(address, topic, n, 1)
            consumed = consume_rate(address, topic, 1, n)
        with mock_cluster() as mock:
            mock_topic = f"tput-{uuid.uuid4().hex[:6]}"
            ensure_topic(mock, mock_topic)
            mock_produced = produce_rate(mock, mock_topic, n, 1)
        mockafka = mockafka_consume_rate(min(n, 100_000))
        rows.append(
            Row(
                "produce 100 B, data dir", produced, mock_produced, "rec/s", "librdkafka mock", True
            )
        )
        rows.append(
            Row("consume 100 B, data dir", consumed, mockafka, "rec/s", "mockafka-py", True)
        )
        # -- memory and recovery ----------------------------------------------------
        data = work / "big"
        with broker_process("--data-dir", str(data)) as (proc, address):
            fill(address, "big", size_mb)
            disk_rss = rss_mb(proc.pid)
        with broker_process() as (proc, address):
            fill(address, "big", size_mb)
            memory_rss = rss_mb(proc.pid)
        rows.append(
            Row(
                f"RSS after {size_mb} MB, data dir",
                disk_rss,
                memory_rss,
                "MB",
                "same data in memory",
                False,
            )
        )
        ready_seconds(work / "warm-up")  # imports, so that no row pays for them
        clean = ready_seconds(data)
        with broker_process("--data-dir", str(data)) as (proc, address):
            # Records in the active segments that no checkpoint covers, then a kill.
            fill(address, "after-restart", 32)
            proc.kill()
            proc.wait()
        crashed = ready_seconds(data)
        empty = ready_seconds(work / "empty")
        rows.append(
            Row(f"ready after clean stop, {size_mb} MB", clean, empty, "s", "empty data dir", False)
        )
        rows.append(
            Row(f"ready after SIGKILL, {size_mb} MB", crashed, empty, "s", "empty data dir", False)
        )
        # -- bounded memory under a flood ---------------------------------------------
        samples, flooded_mb = flood(flood_s, retention_mb=64)
        # Bounded means the second half's peak is not above the first half's: the
        # early RSS is not a fair baseline, the broker's buffers are still growing.
        half = samples[-1][0] / 2
        first = max(mb for t, mb in samples if t <= half)
        peak = max(mb for t, mb in samples if t > half)
        rows.append(
            Row(
                f"RSS peak, 2nd half of a {flood_s:.0f} s flood, retention 64 MB",
                peak,
                first,
                "MB",
                "RSS peak in the 1st half",
                False,
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table("Broker storage (issue 10)", rows)
    print(verdict("produce with a data dir vs librdkafka mock", rows[0].ratio, 1.0))
    print(verdict("consume with a data dir vs mockafka-py", rows[1].ratio, 4.0))
    print(
        f"RSS after {size_mb} MB to a data dir: {disk_rss:.0f} MB (target <= 150 MB: "
        f"{'met' if disk_rss <= 150 else 'NOT met'})"
    )
    worst = max(clean, crashed)
    print(
        f"ready after restart: clean {clean:.2f} s, after SIGKILL {crashed:.2f} s "
        f"(target <= 0.5 s: {'met' if worst <= 0.5 else 'NOT met'})"
    )
    bounded = "bounded" if peak <= first * 1.1 + 20 else "still growing"
    print(
        f"flood: {flooded_mb:.0f} MB written; RSS peak {first:.0f} MB in the first half, "
        f"{peak:.0f} MB in the second ({bounded})"
    )
    print(f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
