"""Kit helpers users wrote by hand: committed offsets, lag, a group id fixture that
cleans up, a readable dump of a topic printed when a test fails, and fixture
docstrings for ``pytest --fixtures``."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, TopicPartition

from streamtest import EmbeddedKafka, eventually


def _commit(kafka, group: str, offsets: dict[tuple[str, int], int]) -> None:
    c = Consumer(kafka.client_config(**{"group.id": group, "enable.auto.commit": False}))
    try:
        c.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
        )
    finally:
        c.close()


@pytest.mark.kafka_topic(partitions=3)
def test_committed_and_lag(kafka, kafka_topic, kafka_group_id):
    for p in range(3):
        kafka.send(kafka_topic, ["a", "b", "c", "d"], partition=p)
    assert kafka.committed(kafka_group_id, kafka_topic) == {}
    assert kafka.lag(kafka_group_id, kafka_topic) == 12  # nothing committed: all of it
    _commit(kafka, kafka_group_id, {(kafka_topic, 0): 4, (kafka_topic, 1): 1})
    assert kafka.committed(kafka_group_id, kafka_topic) == {0: 4, 1: 1}
    assert kafka.committed(kafka_group_id, "other-topic") == {}
    # Partition 2 has no commit: its 4 records count too.
    assert kafka.lag(kafka_group_id) == 0 + 3 + 4
    assert kafka.lag(kafka_group_id, kafka_topic) == 7
    with pytest.raises(KeyError):
        kafka.lag(kafka_group_id, kafka_topic + "-missing")


def test_lag_reaches_zero_as_a_consumer_catches_up(kafka, kafka_topic, kafka_group_id):
    kafka.send(kafka_topic, ["x"] * 5)
    consumer = kafka.consumer(kafka_group_id)
    try:
        consumer.subscribe([kafka_topic])
        seen = []

        def consumed_and_committed() -> int:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                seen.append(msg)
                consumer.commit(msg, asynchronous=False)
            return kafka.lag(kafka_group_id, kafka_topic)

        eventually(consumed_and_committed, equals=0, timeout=30)
        assert len(seen) == 5
    finally:
        consumer.close()


def test_group_id_fixture_deletes_its_group_after_the_test(pytester: pytest.Pytester):
    with EmbeddedKafka() as outside:
        pytester.makepyfile(
            """
            from confluent_kafka import Consumer, TopicPartition

            def test_commits(kafka, kafka_topic, kafka_group_id, kafka_consumer):
                kafka.send(kafka_topic, ["v"])
                c = Consumer(kafka.client_config(**{"group.id": kafka_group_id}))
                c.commit(offsets=[TopicPartition(kafka_topic, 0, 1)], asynchronous=False)
                c.close()
                kafka_consumer.subscribe([kafka_topic])
                while kafka_consumer.poll(0.2) is None:
                    pass
                kafka_consumer.commit(asynchronous=False)
                print("GROUPS", kafka_group_id)
            """
        )
        result = pytester.runpytest_inprocess(
            "-s",
            "-p",
            "no:cacheprovider",
            "--kafka-bootstrap-server",
            outside.bootstrap_servers,
        )
        result.assert_outcomes(passed=1)
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": outside.bootstrap_servers})
        left = admin.list_consumer_groups(request_timeout=10).result().valid
        assert [g.group_id for g in left if g.group_id.startswith("st-group")] == []


def test_dump_is_short_and_readable(kafka, kafka_topic):
    kafka.send(
        kafka_topic,
        [("k1", "hello"), ("k2", b"\xff\x00"), ("k3", "x" * 300)],
        headers={"trace": "t-1"},
    )
    text = kafka.dump(kafka_topic, width=30)
    lines = text.splitlines()
    assert lines[0] == f"{kafka_topic}: 3 records (p0: 3)"
    assert lines[1].startswith("  p0@0  ts=") and "key='k1'  value='hello'" in lines[1]
    assert "headers=trace='t-1'" in lines[1]
    assert "value=0xff00" in lines[2]
    assert "value='" + "x" * 26 + "...  headers" in lines[3]  # 30 characters
    assert kafka.dump(kafka_topic, limit=1).splitlines()[1] == "  ... 2 earlier records not shown"


def test_a_failing_test_prints_its_topics_records(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        def test_fails(kafka, kafka_topic, kafka_topic_factory):
            other = kafka_topic_factory()
            kafka.send(kafka_topic, [("order-1", '{"total": 12}')])
            kafka.send(other, ["side"])
            assert kafka.records(kafka_topic) == []

        def test_passes(kafka, kafka_topic):
            kafka.send(kafka_topic, ["quiet"])
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*- streamtest: records of st-test_fails-*",
            "st-test_fails-*: 1 records (p0: 1)",
            "  p0@0  ts=*  key='order-1'  value='{\"total\": 12}'",
        ]
    )
    assert "value='side'" in out
    assert "quiet" not in out  # passing tests print nothing


def test_fixtures_have_docstrings(pytester: pytest.Pytester):
    result = pytester.runpytest_inprocess("--fixtures", "-p", "no:cacheprovider")
    out = result.stdout.str()
    sections = out.split("fixtures defined from ")
    ours = "".join(sec for sec in sections if sec.startswith("streamtest"))
    for name in (
        "kafka",
        "kafka_topic",
        "kafka_topic_factory",
        "kafka_producer",
        "kafka_consumer",
        "kafka_admin",
        "kafka_group_id",
        "kafka_settings",
    ):
        assert f"\n{name} " in ours, name
    assert "no docstring available" not in ours
