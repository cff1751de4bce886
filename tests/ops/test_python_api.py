"""The ``streamtest.replay`` reset functions on a real consumer."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import Consumer

from streamtest.kit.wait import eventually
from streamtest.ops.errors import UnknownPartitionError, UnknownTopicError
from streamtest.replay import reset_to_earliest, reset_to_offset, reset_to_timestamp

from .conftest import BASE_TS, committed, delete_records_before


@pytest.fixture
def consumer(bootstrap, group_name):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group_name,
                  "enable.auto.commit": False})
    yield c
    c.close()


def first_offsets(consumer: Consumer, partitions: int) -> dict[int, int]:
    """Poll until one record of each partition has arrived; return their offsets."""
    got: dict[int, int] = {}

    def all_seen() -> bool:
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            got.setdefault(msg.partition(), msg.offset())
        return len(got) == partitions

    eventually(all_seen, timeout=20)
    return got


def test_reset_to_earliest_positions_every_partition(broker, make_topic, consumer):
    topic = make_topic(partitions=3, per_partition=4)
    delete_records_before(broker.bootstrap_servers, topic, 2, 3)
    tps = reset_to_earliest(consumer, topic)
    assert [(tp.partition, tp.offset) for tp in tps] == [(0, 0), (1, 0), (2, 3)]
    assert first_offsets(consumer, 3) == {0: 0, 1: 0, 2: 3}


def test_reset_to_timestamp_goes_to_the_end_where_no_record_is_that_recent(
        broker, make_topic, consumer):
    # partition 1 has older records only, so the lookup finds nothing there
    topic = make_topic(partitions=2, per_partition=5,
                       timestamps=lambda p, i: BASE_TS + 1000 * i - 100_000 * p)
    tps = reset_to_timestamp(consumer, topic, BASE_TS + 2000)
    assert [(tp.partition, tp.offset) for tp in tps] == [(0, 2), (1, 5)]
    assert first_offsets(consumer, 1) == {0: 2}


def test_reset_to_offset_clamps_and_commits_when_asked(broker, make_topic, consumer,
                                                       group_name, caplog):
    topic = make_topic(partitions=2, per_partition=5)
    with caplog.at_level(logging.WARNING, logger="streamtest.replay"):
        tp = reset_to_offset(consumer, topic, 1, 99, commit=True)
    assert (tp.partition, tp.offset) == (1, 5)
    assert "is higher than latest offset" in caplog.text
    assert committed(broker.bootstrap_servers, group_name, topic, 2)[1] == 5
    tp = reset_to_offset(consumer, topic, 0, 3)
    assert first_offsets(consumer, 1) == {0: 3}


def test_reset_errors(make_topic, consumer, topic_name):
    topic = make_topic(partitions=1, per_partition=1)
    with pytest.raises(UnknownTopicError):
        reset_to_earliest(consumer, topic_name + "-missing")
    with pytest.raises(UnknownPartitionError):
        reset_to_offset(consumer, topic, 3, 0)
