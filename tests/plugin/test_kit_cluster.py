"""The Cluster helpers (send, records, topics), on the plugin's own ``kafka`` fixture."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException

from streamtest import Event, KafkaRecord
from streamtest.kit.cluster import _dotted, encode, unique_name
from streamtest.kit.compat import close_producer


def test_send_returns_partition_and_offset_of_each_message_in_order(kafka, kafka_topic):
    assert kafka.send(kafka_topic, ["a", "b"]) == [(0, 0), (0, 1)]
    assert kafka.send(kafka_topic, [("k", "c")]) == [(0, 2)]


def test_send_encodes_bytes_str_json_and_none(kafka, kafka_topic):
    kafka.send(
        kafka_topic,
        [
            (b"raw-key", b"\x00\xff"),
            ("k", "naïve"),
            ("k", {"amount": 5, "tags": ["x"]}),
            (1, [1, 2]),
            ("tombstone", None),
            b"bare-bytes",
        ],
    )
    got = [(r.key, r.value) for r in kafka.records(kafka_topic)]
    assert got == [
        (b"raw-key", b"\x00\xff"),
        (b"k", "naïve".encode()),
        (b"k", b'{"amount":5,"tags":["x"]}'),
        (b"1", b"[1,2]"),
        (b"tombstone", None),
        (None, b"bare-bytes"),
    ]


def test_send_refuses_values_it_cannot_encode(kafka, kafka_topic):
    with pytest.raises(TypeError, match="bytes, str or JSON-serialisable"):
        kafka.send(kafka_topic, [object()])


def test_send_adds_headers_to_every_message(kafka, kafka_topic):
    kafka.send(kafka_topic, ["a", "b"], headers={"trace": "t1", "bin": b"\x01"})
    kafka.send(kafka_topic, ["c"], headers=[("dup", "1"), ("dup", "2")])
    records = kafka.records(kafka_topic)
    assert records[0].headers == [("trace", b"t1"), ("bin", b"\x01")]
    assert records[1].headers == records[0].headers
    assert records[2].headers == [("dup", b"1"), ("dup", b"2")]


def test_send_uses_event_time_of_events_and_copies_records(kafka, kafka_topic):
    event = Event("evt-1", "user-1", 1_700_000_123_456, 7)
    kafka.send(kafka_topic, [event])
    [record] = kafka.records(kafka_topic)
    assert record.timestamp == event.timestamp
    assert record.key == b"user-1"
    assert Event.from_value(record.value) == event
    # A KafkaRecord is re-sent with its key, value, headers and timestamp.
    copy = KafkaRecord(kafka_topic, 0, 0, 1_600_000_000_000, b"k", b"v", [("h", b"1")])
    kafka.send(kafka_topic, [copy])
    last = kafka.records(kafka_topic)[-1]
    assert (last.key, last.value, last.headers, last.timestamp) == (
        b"k",
        b"v",
        [("h", b"1")],
        1_600_000_000_000,
    )


@pytest.mark.kafka_topic(partitions=3)
def test_keys_stick_to_a_partition_and_partition_can_be_forced(kafka, kafka_topic):
    placed = kafka.send(kafka_topic, [(f"key-{i % 4}", i) for i in range(40)])
    by_key: dict[str, set[int]] = {}
    for i, (partition, _) in enumerate(placed):
        by_key.setdefault(f"key-{i % 4}", set()).add(partition)
    assert all(len(ps) == 1 for ps in by_key.values())
    assert {p for p, _ in kafka.send(kafka_topic, ["x", "y"], partition=2)} == {2}


@pytest.mark.kafka_topic(partitions=3)
def test_records_reads_everything_ordered_by_partition_then_offset(kafka, kafka_topic):
    kafka.send(kafka_topic, [(f"k{i}", i) for i in range(2_000)])
    records = kafka.records(kafka_topic)
    assert len(records) == 2_000
    assert records == sorted(records, key=lambda r: (r.partition, r.offset))
    assert sorted(int(r.value) for r in records) == list(range(2_000))
    assert {r.topic for r in records} == {kafka_topic}
    assert all(r.timestamp > 0 for r in records)
    one = kafka.records(kafka_topic, partition=1)
    assert one == [r for r in records if r.partition == 1]


def test_records_of_an_empty_topic_is_empty(kafka, kafka_topic):
    assert kafka.records(kafka_topic) == []


def test_records_of_a_missing_topic_or_partition_raises_key_error(kafka, kafka_topic):
    with pytest.raises(KeyError, match="does not exist"):
        kafka.records(unique_name("missing"))
    with pytest.raises(KeyError, match="no partition 5"):
        kafka.records(kafka_topic, partition=5)


def test_records_read_committed_skips_aborted_transactions(kafka, kafka_topic):
    producer = kafka.producer(**{"transactional.id": unique_name("txn")})
    try:
        producer.init_transactions(10)
        producer.begin_transaction()
        producer.produce(kafka_topic, b"committed")
        producer.commit_transaction(10)
        producer.begin_transaction()
        producer.produce(kafka_topic, b"aborted")
        producer.flush(10)  # written to the log first: abort would purge unsent messages
        producer.abort_transaction(10)
    finally:
        close_producer(producer)
    committed = [r.value for r in kafka.records(kafka_topic, isolation_level="read_committed")]
    everything = [r.value for r in kafka.records(kafka_topic)]
    assert committed == [b"committed"]
    assert everything == [b"committed", b"aborted"]


def test_create_topic_takes_python_config_values_and_refuses_duplicates(kafka, kafka_admin):
    from confluent_kafka.admin import ConfigResource

    name = kafka.create_topic(unique_name("cfg"), 2, {"retention.ms": 1000, "preallocate": True})
    try:
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        configs = kafka_admin.describe_configs([resource])[resource].result()
        assert configs["retention.ms"].value == "1000"
        assert configs["preallocate"].value == "true"
        with pytest.raises(KafkaException, match="already exists"):
            kafka.create_topic(name)
    finally:
        kafka.delete_topic(name)
    assert name not in kafka.topics()


def test_delete_topic_of_a_missing_topic(kafka):
    name = unique_name("never")
    kafka.delete_topic(name, missing_ok=True)
    with pytest.raises(KafkaException):
        kafka.delete_topic(name)


def test_clients_take_underscored_settings(kafka, kafka_topic):
    producer = kafka.producer(linger_ms=0, error_cb=lambda err: None)
    producer.produce(kafka_topic, b"v")
    assert producer.flush(10) == 0
    close_producer(producer)
    assert _dotted({"group_id": "g", "error_cb": 1, "a.b_c": 2}) == {
        "group.id": "g",
        "error_cb": 1,
        "a.b_c": 2,
    }


def test_unique_names_are_legal_and_unique():
    names = {unique_name("test_x[param-1/2] ünï") for _ in range(100)}
    assert len(names) == 100
    import re

    assert all(re.fullmatch(r"[a-zA-Z0-9._-]+", n) and len(n) < 250 for n in names)


def test_encode_passes_bytes_like_through():
    assert encode(bytearray(b"ab")) == b"ab"
    assert encode(memoryview(b"cd")) == b"cd"
    assert encode(None) is None
