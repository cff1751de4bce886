"""aiokafka's transactional producer (``AIOKafkaProducer(transactional_id=...)``)
against the embedded broker: commit, abort, fencing and offsets in a transaction."""

from __future__ import annotations

import asyncio
import time

import aiokafka
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, ProducerFenced

pytestmark = pytest.mark.interop


async def _read(bootstrap: str, topic: str, isolation: str, expected: int) -> list[bytes]:
    """Read partition 0 of ``topic`` from the start until ``expected`` values arrive."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level=isolation, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        out: list[bytes] = []
        deadline = time.monotonic() + 15
        while len(out) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            out += [m.value for msgs in batches.values() for m in msgs]
        return out
    finally:
        await consumer.stop()


def test_aiokafka_commit_and_abort_are_honoured_by_read_committed(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, 1)

    async def run() -> tuple[list[bytes], list[bytes]]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=topic_name)
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send(topic_name, b"committed", partition=0)
            with pytest.raises(RuntimeError):
                async with producer.transaction():
                    await producer.send_and_wait(topic_name, b"aborted", partition=0)
                    raise RuntimeError("abort this transaction")
            async with producer.transaction():
                await producer.send(topic_name, b"after", partition=0)
        finally:
            await producer.stop()
        return (
            await _read(bootstrap, topic_name, "read_committed", 2),
            await _read(bootstrap, topic_name, "read_uncommitted", 3),
        )

    committed, uncommitted = asyncio.run(run())
    assert committed == [b"committed", b"after"]
    assert uncommitted == [b"committed", b"aborted", b"after"]


def test_aiokafka_second_producer_fences_the_first(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, 1)

    async def run() -> KafkaError:
        zombie = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=topic_name)
        successor = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=topic_name)
        await zombie.start()
        try:
            await zombie.begin_transaction()
            await zombie.send_and_wait(topic_name, b"zombie", partition=0)
            await successor.start()
            async with successor.transaction():
                await successor.send(topic_name, b"successor", partition=0)
            try:
                await zombie.commit_transaction()
            except KafkaError as exc:
                return exc
            raise AssertionError("the fenced producer committed")
        finally:
            await successor.stop()
            await zombie.stop()

    error = asyncio.run(run())
    assert isinstance(error, ProducerFenced | aiokafka.errors.InvalidProducerEpoch), error
    assert asyncio.run(_read(bootstrap, topic_name, "read_committed", 1)) == [b"successor"]


def test_aiokafka_send_offsets_to_transaction(broker, bootstrap, topic_name):
    source, sink = f"{topic_name}-in", f"{topic_name}-out"
    broker.create_topic(source, 1)
    broker.create_topic(sink, 1)
    group = f"g-{topic_name}"

    async def run() -> int:
        feeder = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await feeder.start()
        for i in range(4):
            await feeder.send_and_wait(source, b"%d" % i, partition=0)
        await feeder.stop()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=topic_name)
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send(sink, b"out", partition=0)
                await producer.send_offsets_to_transaction(
                    {TopicPartition(source, 0): 4}, group
                )
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            return await consumer.committed(TopicPartition(source, 0))
        finally:
            await consumer.stop()

    assert asyncio.run(run()) == 4
    assert asyncio.run(_read(bootstrap, sink, "read_committed", 1)) == [b"out"]
