"""Broker APIs exercised request by request over a raw socket, with kio-encoded
requests: the behaviours real clients rarely hit on purpose."""

from __future__ import annotations

import datetime
import threading
import uuid

import pytest
from kio.schema.fetch.v12.request import FetchPartition as FetchPartitionV12
from kio.schema.fetch.v12.request import FetchRequest as FetchRequestV12
from kio.schema.fetch.v12.request import FetchTopic as FetchTopicV12
from kio.schema.fetch.v13.request import FetchPartition as FetchPartitionV13
from kio.schema.fetch.v13.request import FetchRequest as FetchRequestV13
from kio.schema.fetch.v13.request import FetchTopic as FetchTopicV13
from kio.schema.list_offsets.v7.request import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsTopic,
)
from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic

from streamtest import EmbeddedKafka
from streamtest.protocol.errors import ErrorCode
from streamtest.protocol.records import RecordInput, parse_header

from .rawclient import RawClient


@pytest.fixture
def kafka():
    with EmbeddedKafka(partitions=1) as k:
        yield k


def _append(kafka: EmbeddedKafka, topic: str, batches: list[list[RecordInput]]) -> None:
    """Append batches through the real Produce path (confluent-kafka, one batch each)."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 0})
    for batch in batches:
        for r in batch:
            p.produce(topic, key=r.key, value=r.value, timestamp=r.timestamp or 0, partition=0)
        assert p.flush(10) == 0


def _fetch12(
    topic: str,
    offset: int,
    *,
    max_bytes: int = 10_000_000,
    part_max: int = 1_000_000,
    min_bytes: int = 1,
    max_wait_ms: int = 0,
) -> FetchRequestV12:
    return FetchRequestV12(
        replica_id=-1,
        max_wait=datetime.timedelta(milliseconds=max_wait_ms),
        min_bytes=min_bytes,
        max_bytes=max_bytes,
        isolation_level=0,
        session_id=0,
        session_epoch=-1,
        topics=(
            FetchTopicV12(
                topic=topic,
                partitions=(
                    FetchPartitionV12(
                        partition=0,
                        current_leader_epoch=-1,
                        fetch_offset=offset,
                        last_fetched_epoch=-1,
                        log_start_offset=-1,
                        partition_max_bytes=part_max,
                    ),
                ),
            ),
        ),
        forgotten_topics_data=(),
        rack_id="",
    )


def _batches(records: bytes) -> list[int]:
    """Return the base offsets of the batches in a Fetch response's record set."""
    out, pos = [], 0
    while pos < len(records):
        h = parse_header(records, pos)
        out.append(h.base_offset)
        pos += h.size
    return out


def test_fetch_max_bytes_still_returns_one_whole_batch(kafka):
    kafka.create_topic("mb")
    _append(kafka, "mb", [[RecordInput(b"k", b"x" * 900)] for _ in range(3)])
    c = RawClient(kafka.bootstrap_servers)
    tiny = c.call(_fetch12("mb", 0, max_bytes=10)).responses[0].partitions[0]
    assert _batches(tiny.records) == [0]  # KIP-74: the first batch comes whole
    two = c.call(_fetch12("mb", 0, part_max=2500)).responses[0].partitions[0]
    assert _batches(two.records) == [0, 1]
    mid = c.call(_fetch12("mb", 1)).responses[0].partitions[0]
    assert _batches(mid.records) == [1, 2] and mid.high_watermark == 3
    c.close()


def test_fetch_out_of_range_and_unknown_topic(kafka):
    kafka.create_topic("oor")
    _append(kafka, "oor", [[RecordInput(None, b"v")]])
    c = RawClient(kafka.bootstrap_servers)
    p = c.call(_fetch12("oor", 5)).responses[0].partitions[0]
    # As Kafka (checked by tests/fidelity): an error partition reports -1 offsets.
    assert p.error_code == ErrorCode.OFFSET_OUT_OF_RANGE and p.high_watermark == -1
    at_end = c.call(_fetch12("oor", 1)).responses[0].partitions[0]
    assert at_end.error_code == 0 and not at_end.records
    missing = c.call(_fetch12("nope", 0)).responses[0].partitions[0]
    assert missing.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    c.close()


def test_fetch_by_topic_id_v13(kafka):
    kafka.create_topic("ids")
    _append(kafka, "ids", [[RecordInput(b"a", b"1")]])
    c = RawClient(kafka.bootstrap_servers)
    meta = c.call(
        MetadataRequest(
            topics=(MetadataRequestTopic(topic_id=None, name="ids"),),
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )
    )
    topic_id = meta.topics[0].topic_id
    assert topic_id.int != 0

    def fetch(tid: uuid.UUID):
        return c.call(
            FetchRequestV13(
                replica_id=-1,
                max_wait=datetime.timedelta(0),
                min_bytes=1,
                max_bytes=1_000_000,
                isolation_level=0,
                session_id=0,
                session_epoch=-1,
                topics=(
                    FetchTopicV13(
                        topic_id=tid,
                        partitions=(
                            FetchPartitionV13(
                                partition=0,
                                current_leader_epoch=-1,
                                fetch_offset=0,
                                last_fetched_epoch=-1,
                                log_start_offset=-1,
                                partition_max_bytes=1_000_000,
                            ),
                        ),
                    ),
                ),
                forgotten_topics_data=(),
                rack_id="",
            )
        )

    ok = fetch(topic_id).responses[0]
    assert ok.topic_id == topic_id and _batches(ok.partitions[0].records) == [0]
    bad = fetch(uuid.uuid4()).responses[0].partitions[0]
    assert bad.error_code == ErrorCode.UNKNOWN_TOPIC_ID
    c.close()


def test_long_poll_is_woken_by_a_produce(kafka):
    kafka.create_topic("lp")
    c = RawClient(kafka.bootstrap_servers, timeout=20)
    result = {}

    def parked() -> None:
        # max_wait is far beyond the socket timeout: only a wake-up can answer in time.
        result["resp"] = c.call(_fetch12("lp", 0, max_wait_ms=60_000, min_bytes=1))

    t = threading.Thread(target=parked)
    t.start()
    _append(kafka, "lp", [[RecordInput(b"k", b"wake")]])
    t.join(20)
    assert not t.is_alive()
    assert _batches(result["resp"].responses[0].partitions[0].records) == [0]
    c.close()


def test_long_poll_honours_max_wait_when_nothing_arrives(kafka):
    kafka.create_topic("idle")
    c = RawClient(kafka.bootstrap_servers, timeout=10)
    resp = c.call(_fetch12("idle", 0, max_wait_ms=50, min_bytes=1))
    p = resp.responses[0].partitions[0]
    assert p.error_code == 0 and not p.records
    c.close()


def test_metadata_null_means_all_and_empty_means_none(kafka):
    kafka.create_topic("m1")
    kafka.create_topic("m2", partitions=3)
    c = RawClient(kafka.bootstrap_servers)
    every = c.call(
        MetadataRequest(
            topics=None, allow_auto_topic_creation=False, include_topic_authorized_operations=False
        )
    )
    assert {t.name for t in every.topics} == {"m1", "m2"}
    assert every.brokers[0].port == kafka.port and every.brokers[0].host == "127.0.0.1"
    assert {len(t.partitions) for t in every.topics} == {1, 3}
    none = c.call(
        MetadataRequest(
            topics=(), allow_auto_topic_creation=True, include_topic_authorized_operations=False
        )
    )
    assert none.topics == ()
    c.close()


def test_metadata_auto_create_only_when_allowed(kafka):
    c = RawClient(kafka.bootstrap_servers)

    def ask(name: str, allow: bool):
        return c.call(
            MetadataRequest(
                topics=(MetadataRequestTopic(topic_id=None, name=name),),
                allow_auto_topic_creation=allow,
                include_topic_authorized_operations=False,
            )
        ).topics[0]

    assert ask("not-created", False).error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert "not-created" not in kafka.topics()
    created = ask("created", True)
    assert created.error_code == 0 and created.topic_id.int != 0
    assert ask("bad name!", True).error_code == ErrorCode.INVALID_TOPIC_EXCEPTION
    c.close()


def test_auto_create_can_be_disabled():
    with EmbeddedKafka(auto_create_topics=False) as kafka:
        c = RawClient(kafka.bootstrap_servers)
        resp = c.call(
            MetadataRequest(
                topics=(MetadataRequestTopic(topic_id=None, name="x"),),
                allow_auto_topic_creation=True,
                include_topic_authorized_operations=False,
            )
        )
        assert resp.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert kafka.topics() == []
        c.close()


def test_list_offsets_earliest_latest_max_timestamp_and_by_time(kafka):
    kafka.create_topic("lo")
    _append(
        kafka,
        "lo",
        [
            [RecordInput(None, b"a", timestamp=100)],
            [RecordInput(None, b"b", timestamp=900)],
            [RecordInput(None, b"c", timestamp=300)],
        ],
    )
    c = RawClient(kafka.bootstrap_servers)

    def at(ts: int) -> tuple[int, int]:
        resp = c.call(
            ListOffsetsRequest(
                replica_id=-1,
                isolation_level=0,
                topics=(
                    ListOffsetsTopic(
                        name="lo",
                        partitions=(
                            ListOffsetsPartition(
                                partition_index=0, current_leader_epoch=-1, timestamp=ts
                            ),
                        ),
                    ),
                ),
            )
        )
        p = resp.topics[0].partitions[0]
        return p.offset, p.timestamp

    assert at(-2)[0] == 0
    assert at(-1)[0] == 3
    assert at(-3) == (1, 900)  # KIP-734: the record with the largest timestamp
    assert at(200) == (1, 900)  # the first record at or after 200, in offset order
    assert at(1000) == (-1, -1)
    c.close()


def test_deleting_a_topic_drops_its_committed_offsets(kafka):
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient

    kafka.create_topic("gone-offsets")
    kafka.create_topic("kept-offsets")
    c = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": "g-del"})
    c.commit(
        offsets=[TopicPartition("gone-offsets", 0, 0), TopicPartition("kept-offsets", 0, 0)],
        asynchronous=False,
    )
    c.close()
    assert kafka.call(lambda b: b.groups.committed("g-del")) == {
        ("gone-offsets", 0): 0,
        ("kept-offsets", 0): 0,
    }
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    admin.delete_topics(["gone-offsets"])["gone-offsets"].result(10)
    assert kafka.call(lambda b: b.groups.committed("g-del")) == {("kept-offsets", 0): 0}
