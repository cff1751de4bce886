"""Exactly-once consume-transform-produce with confluent-kafka, through a SIGKILL.

A worker process (``eos_worker.py``) turns each poll into a transaction that holds
its outputs and its consumer offsets (``send_offsets_to_transaction``). The test
kills it with SIGKILL in the middle of a transaction, after that transaction's
outputs reached the broker, then starts a fresh worker with the same
``transactional.id`` and group. The new worker fences the old one (its open
transaction is aborted), resumes from the group's committed offsets, and the
output holds exactly one record per input record for a read_committed reader.
"""

from __future__ import annotations

import collections
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from streamtest import EmbeddedKafka

pytestmark = pytest.mark.interop
WORKER = Path(__file__).with_name("eos_worker.py")
PARTITIONS = 3
TOTAL = 300


def _start_worker(args: list[str]) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_line(proc: subprocess.Popen[str], wanted: str, timeout: float) -> list[str]:
    """Read the worker's stdout until a line equal to ``wanted``; return all lines."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if not ready:
            continue
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"worker exited ({proc.wait()}) before {wanted!r}: {lines}")
        lines.append(line.strip())
        if line.strip() == wanted:
            return lines
    raise AssertionError(f"no {wanted!r} from the worker within {timeout}s: {lines}")


def _read_all(bootstrap: str, topic: str, isolation: str, at_least: int) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{topic}-{isolation}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    out: list[bytes] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=1000, timeout=0.3)
            out += [m.value() for m in batch if not m.error()]
            if len(out) >= at_least and not batch:
                break
    finally:
        consumer.close()
    return out


@pytest.fixture
def kafka():
    """A broker that lets the worker use a 2 s session timeout, so the killed
    worker's consumer leaves the group quickly (Kafka's minimum is 6 s)."""
    with EmbeddedKafka(extra={"group.min.session.timeout.ms": "500"}) as k:
        yield k


def test_consume_transform_produce_killed_mid_transaction_is_exactly_once(kafka, topic_name):
    broker, bootstrap = kafka, kafka.bootstrap_servers
    source, sink = f"{topic_name}-in", f"{topic_name}-out"
    broker.create_topic(source, PARTITIONS)
    broker.create_topic(sink, PARTITIONS)
    feeder = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(TOTAL):
        feeder.produce(source, key=b"%d" % (i % 7), value=b"%05d" % i, partition=i % PARTITIONS)
    assert feeder.flush(15) == 0
    common = [
        "--bootstrap", bootstrap, "--source", source, "--sink", sink,
        "--partitions", str(PARTITIONS), "--group", f"eos-{topic_name}",
        "--transactional-id", f"eos-{topic_name}", "--total", str(TOTAL),
    ]

    first = _start_worker([*common, "--hang-after", "3"])
    try:
        _wait_for_line(first, "HANG", timeout=60)
        # Mid-transaction: some output is on the broker but held back by the LSO.
        open_txn = broker.call(
            lambda b: any(
                log.last_stable_offset < log.high_watermark
                for log in b.state.topics[sink].partitions
            )
        )
        assert open_txn
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)

    second = _start_worker(common)
    try:
        _wait_for_line(second, "DONE", timeout=90)
        assert second.wait(20) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(10)

    outputs = _read_all(bootstrap, sink, "read_committed", TOTAL)
    counts = collections.Counter(outputs)
    expected = {b"%05d-out" % i for i in range(TOTAL)}
    assert set(counts) == expected, "an input has no output"
    duplicated = {v: n for v, n in counts.items() if n > 1}
    assert not duplicated, f"inputs with more than one output: {duplicated}"
    # The killed transaction's outputs are physically in the log, aborted.
    raw = _read_all(bootstrap, sink, "read_uncommitted", TOTAL)
    assert len(raw) > TOTAL
