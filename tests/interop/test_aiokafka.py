"""aiokafka against the embedded broker, over real sockets."""

from __future__ import annotations

import asyncio

import aiokafka
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

pytestmark = pytest.mark.interop


def test_aiokafka_version_is_recorded():
    assert aiokafka.__version__


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_produce_and_consume_back_exactly(broker, bootstrap, topic_name, codec):
    broker.create_topic(topic_name, partitions=2)

    async def run() -> list:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, compression_type=codec, linger_ms=5, acks="all"
        )
        await producer.start()
        try:
            for i in range(100):
                await producer.send(
                    topic_name,
                    key=f"k{i % 4}".encode(),
                    value=f"v{i}".encode(),
                    headers=[("i", str(i).encode())],
                    timestamp_ms=10_000 + i,
                )
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic_name, p) for p in range(2)])
            await consumer.seek_to_beginning()
            out: list = []
            async with asyncio.timeout(15):
                while len(out) < 100:
                    batch = await consumer.getmany(timeout_ms=200)
                    for records in batch.values():
                        out.extend(records)
            return out
        finally:
            await consumer.stop()

    got = asyncio.run(run())
    assert len(got) == 100
    assert sorted((r.key, r.value, tuple(r.headers), r.timestamp) for r in got) == sorted(
        (f"k{i % 4}".encode(), f"v{i}".encode(), (("i", str(i).encode()),), 10_000 + i)
        for i in range(100)
    )
    for key in {r.key for r in got}:
        assert len({r.partition for r in got if r.key == key}) == 1
    for p in range(2):
        offsets = [r.offset for r in got if r.partition == p]
        assert offsets == list(range(len(offsets)))
