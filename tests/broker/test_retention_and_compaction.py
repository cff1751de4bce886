"""Retention, DeleteRecords, compaction and bounded storage on the broker, seen
through real clients (issue 10): segments really go, the log start offset moves,
compacted topics keep the last value per key, and a full disk costs nothing that
was acknowledged. Time-based behaviour runs on the manual clock: nothing sleeps."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from streamtest import EmbeddedKafka, eventually


def _produce(
    bootstrap: str,
    topic: str,
    values: list[tuple[bytes | None, bytes | None]],
    timestamp_ms: int = 0,
) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    errors: list[KafkaError] = []
    for key, value in values:
        producer.produce(topic, key=key, value=value, partition=0, timestamp=timestamp_ms,
                         on_delivery=lambda err, _m: errors.append(err) if err else None)
        producer.flush(10)  # one batch per record: many small segments
    assert not errors, errors


def _watermarks(bootstrap: str, topic: str) -> tuple[int, int]:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        consumer.close()


def _segment_files(data_dir: Path, topic: str) -> list[Path]:
    return sorted((data_dir / "node-0" / f"{topic}-0").glob("*.log"))


def test_retention_ms_deletes_expired_segments_and_moves_the_log_start(tmp_path):
    settings = {"log.retention.check.interval.ms": "1000", "log.segment.delete.delay.ms": "0"}
    with EmbeddedKafka(clock="manual", data_dir=tmp_path, settings=settings) as kafka:
        kafka.create_topic("ret", partitions=1, config={"retention.ms": "60000",
                                                        "segment.ms": "10000"})
        # Record timestamps on the broker's clock (a real client stamps wall time,
        # which the manual clock does not follow).
        now = kafka.call(lambda c: c.clock.now_ms())
        _produce(kafka.bootstrap_servers, "ret", [(None, b"old-%d" % i) for i in range(5)], now)
        kafka.advance(20)  # the segment is older than segment.ms: the next append rolls
        _produce(kafka.bootstrap_servers, "ret", [(None, b"new-%d" % i) for i in range(5)],
                 now + 20_000)
        assert len(_segment_files(tmp_path, "ret")) == 2
        kafka.advance(55)  # the old records are 75 s old, the new ones 55 s
        assert _watermarks(kafka.bootstrap_servers, "ret") == (5, 10)
        assert [r.value for r in kafka.records("ret")] == [b"new-%d" % i for i in range(5)]
        assert len(_segment_files(tmp_path, "ret")) == 1


def test_retention_bytes_keeps_the_log_under_the_limit(tmp_path):
    settings = {"log.retention.check.interval.ms": "1000", "log.segment.delete.delay.ms": "0"}
    with EmbeddedKafka(clock="manual", data_dir=tmp_path, settings=settings) as kafka:
        kafka.create_topic("capped", partitions=1, config={"retention.bytes": "2000",
                                                           "segment.bytes": "1000"})
        _produce(kafka.bootstrap_servers, "capped", [(None, b"x" * 100) for _ in range(40)])
        before = sum(f.stat().st_size for f in _segment_files(tmp_path, "capped"))
        kafka.advance(1.5)
        after = sum(f.stat().st_size for f in _segment_files(tmp_path, "capped"))
        low, high = _watermarks(kafka.bootstrap_servers, "capped")
        assert high == 40 and low > 0
        # Whole segments go, oldest first, until what is left fits (Kafka keeps the
        # active segment whatever its size).
        assert after < before and after <= 2000 + 1000
        assert [r.offset for r in kafka.records("capped")] == list(range(low, 40))


def test_delete_records_deletes_the_segments_below_the_new_start(tmp_path):
    settings = {"log.segment.delete.delay.ms": "0"}
    with EmbeddedKafka(data_dir=tmp_path, settings=settings) as kafka:
        kafka.create_topic("trim", partitions=1, config={"segment.bytes": "1000"})
        _produce(kafka.bootstrap_servers, "trim", [(None, b"y" * 100) for _ in range(30)])
        segments = len(_segment_files(tmp_path, "trim"))
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
        done = admin.delete_records([TopicPartition("trim", 0, 25)])
        for future in done.values():
            future.result(10)
        assert _watermarks(kafka.bootstrap_servers, "trim") == (25, 30)
        assert len(_segment_files(tmp_path, "trim")) < segments
        assert [r.offset for r in kafka.records("trim")] == list(range(25, 30))


def test_compaction_keeps_the_last_value_per_key_then_drops_tombstones():
    settings = {"log.cleaner.backoff.ms": "1000"}
    with EmbeddedKafka(clock="manual", settings=settings) as kafka:
        kafka.create_topic(
            "compacted",
            partitions=1,
            config={
                "cleanup.policy": "compact",
                "segment.bytes": "1000",
                "min.cleanable.dirty.ratio": "0.01",
                "delete.retention.ms": "10000",
            },
        )
        writes = [(b"k%d" % (i % 5), b"v%d" % i) for i in range(40)]
        writes.append((b"k0", None))  # a tombstone for k0
        writes += [(b"filler", b"f%d" % i) for i in range(20)]  # roll past the tombstone
        _produce(kafka.bootstrap_servers, "compacted", writes)

        def latest() -> dict[bytes, bytes | None]:
            return {r.key: r.value for r in kafka.records("compacted")}

        def cleaned() -> bool:
            kafka.advance(1)  # the cleaner's backoff; its pass runs off the loop
            records = kafka.records("compacted")
            return len([r for r in records if r.key == b"k1"]) == 1

        eventually(cleaned, timeout=30)
        # One value per key, the last one, offsets kept; the tombstone is still
        # there until delete.retention.ms after its segment was cleaned.
        records = kafka.records("compacted")
        assert latest()[b"k1"] == b"v36" and latest()[b"k4"] == b"v39"
        assert (b"k0", None) in [(r.key, r.value) for r in records]
        assert [r.offset for r in records] == sorted(r.offset for r in records)

        # Past delete.retention.ms, the next pass (new writes make the log dirty
        # again) removes the tombstone.
        kafka.advance(11)
        _produce(kafka.bootstrap_servers, "compacted", [(b"filler", b"g%d" % i) for i in range(20)])

        def tombstone_gone() -> bool:
            kafka.advance(1)
            return b"k0" not in latest()

        eventually(tombstone_gone, timeout=60)


def test_a_record_without_a_key_is_refused_by_a_compacted_topic():
    with EmbeddedKafka() as kafka:
        kafka.create_topic("keys-only", partitions=1, config={"cleanup.policy": "compact"})
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "retries": 0})
        errors: list[KafkaError] = []
        producer.produce("keys-only", value=b"no key",
                         on_delivery=lambda err, _m: errors.append(err))
        producer.flush(10)
        producer.produce("keys-only", key=b"k", value=b"keyed",
                         on_delivery=lambda err, _m: errors.append(err))
        producer.flush(10)
        assert errors[1] is None
        assert errors[0] is not None and errors[0].code() == KafkaError.INVALID_RECORD
        assert [r.value for r in kafka.records("keys-only")] == [b"keyed"]


@pytest.mark.parametrize("acks", ["1", "all"])
def test_a_full_disk_fails_the_produce_and_loses_nothing_acknowledged(tmp_path, acks):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        kafka.create_topic("full", partitions=1)
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": acks,
                             "retries": 0, "linger.ms": 0})
        acked: list[bytes] = []
        failed: list[KafkaError] = []

        def report(err: KafkaError | None, msg: object) -> None:
            if err is None:
                acked.append(msg.value())  # type: ignore[attr-defined]
            else:
                failed.append(err)

        for i in range(10):
            producer.produce("full", value=b"before-%d" % i, on_delivery=report)
        producer.flush(10)
        # The node's disk fills up: nothing more fits.
        kafka.call(lambda c: c.nodes[0].fs.set_capacity(c.nodes[0].fs.used_bytes()))
        for i in range(5):
            producer.produce("full", value=b"during-%d" % i, on_delivery=report)
        producer.flush(10)
        assert failed and all(e.code() == KafkaError.KAFKA_STORAGE_ERROR for e in failed)
        # The broker keeps serving; what was acknowledged is intact and readable.
        assert [r.value for r in kafka.records("full")] == acked
        kafka.call(lambda c: c.nodes[0].fs.set_capacity(None))
        producer.produce("full", value=b"after", on_delivery=report)
        producer.flush(10)
        assert acked[-1] == b"after"
        assert [r.value for r in kafka.records("full")] == acked
