"""Group consumers from kafka-python, aiokafka and kcat (-G) against the embedded
broker: each joins a group, reads its share, commits, and a restart resumes."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

import pytest
from aiokafka import AIOKafkaConsumer
from kafka import KafkaConsumer

from streamtest.kit.wait import eventually

from .groupclients import group_id, produce

pytestmark = pytest.mark.interop


def _committed(broker, gid):
    return broker.call(lambda b: b.groups.committed(gid))


def _kafka_python_read(bootstrap: str, topic: str, gid: str, count: int) -> list[str]:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=gid,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=6000, heartbeat_interval_ms=500,
                             max_poll_records=count)
    try:
        got: list[str] = []
        deadline = time.monotonic() + 30
        while len(got) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200, max_records=count - len(got)).values():
                got.extend(r.value.decode() for r in records)
        consumer.commit()
        return got
    finally:
        consumer.close()


def test_kafka_python_group_consumer_commits_and_resumes(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=1)
    produce(bootstrap, topic_name, 1, 20)
    gid = group_id()
    first = _kafka_python_read(bootstrap, topic_name, gid, 8)
    assert first == [f"v{i}" for i in range(8)]
    assert _committed(broker, gid) == {(topic_name, 0): 8}
    rest = _kafka_python_read(bootstrap, topic_name, gid, 12)
    assert rest == [f"v{i}" for i in range(8, 20)]


def test_two_kafka_python_consumers_split_a_topic(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=4)
    gid = group_id()
    consumers = [
        KafkaConsumer(topic_name, bootstrap_servers=bootstrap, group_id=gid,
                      auto_offset_reset="earliest", session_timeout_ms=6000,
                      heartbeat_interval_ms=500)
        for _ in range(2)
    ]
    try:
        def split() -> bool:
            for c in consumers:
                c.poll(timeout_ms=50)
            return [len(c.assignment()) for c in consumers] == [2, 2]

        eventually(split, timeout=30, interval=0)
    finally:
        for c in consumers:
            c.close()


def test_aiokafka_group_consumer_commits_and_resumes(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=2)
    produce(bootstrap, topic_name, 2, 20)
    gid = group_id()

    async def read(count: int) -> list[str]:
        consumer = AIOKafkaConsumer(topic_name, bootstrap_servers=bootstrap, group_id=gid,
                                    auto_offset_reset="earliest", enable_auto_commit=False,
                                    session_timeout_ms=6000, heartbeat_interval_ms=500)
        await consumer.start()
        try:
            got: list[str] = []
            while len(got) < count:
                batch = await consumer.getmany(timeout_ms=200, max_records=count - len(got))
                for records in batch.values():
                    got.extend(r.value.decode() for r in records)
            await consumer.commit()
            return got
        finally:
            await consumer.stop()

    first = asyncio.run(asyncio.wait_for(read(20), 30))
    assert sorted(first) == sorted(f"v{i}" for i in range(20))
    assert sum(_committed(broker, gid).values()) == 20
    produce(bootstrap, topic_name, 2, 4, start=20)
    rest = asyncio.run(asyncio.wait_for(read(4), 30))
    assert sorted(rest) == [f"v{i}" for i in range(20, 24)]


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed")
def test_kcat_balanced_consumer_commits(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=2)
    produce(bootstrap, topic_name, 2, 10)
    gid = group_id()
    proc = subprocess.run(
        ["kcat", "-b", bootstrap, "-G", gid, topic_name, "-c", "10", "-f", "%s\\n",
         "-X", "auto.offset.reset=earliest", "-X", "auto.commit.interval.ms=100",
         "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split()) == sorted(f"v{i}" for i in range(10))
    eventually(lambda: sum(_committed(broker, gid).values()) == 10, timeout=10)
