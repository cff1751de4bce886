"""Each fixture of the plugin, its marker, and topic teardown, run through pytester."""

from __future__ import annotations

import pytest


def test_kafka_is_one_cluster_for_the_session(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import streamtest
        seen = []

        def test_one(kafka):
            assert isinstance(kafka, streamtest.Cluster)
            assert isinstance(kafka, streamtest.EmbeddedCluster)
            seen.append(kafka)

        def test_two(kafka):
            assert kafka is seen[0]
            assert kafka.running
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=2)


def test_kafka_topic_is_fresh_unique_and_deleted_after_the_test(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        names = []

        def test_first(kafka, kafka_topic):
            assert kafka_topic in kafka.topics()
            assert kafka.records(kafka_topic) == []
            assert "test_first" in kafka_topic
            names.append(kafka_topic)

        def test_second(kafka, kafka_topic):
            assert kafka_topic != names[0]
            assert names[0] not in kafka.topics()   # deleted at test_first's teardown
            names.append(kafka_topic)

        def test_third(kafka):
            assert not set(names) & set(kafka.topics())
        """
    )
    pytester.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=3)


def test_kafka_topic_marker_sets_partitions_config_and_name(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest
        from confluent_kafka.admin import ConfigResource

        @pytest.mark.kafka_topic(partitions=3, config={"retention.ms": 60000})
        def test_shaped(kafka, kafka_topic, kafka_admin):
            md = kafka_admin.list_topics(kafka_topic).topics[kafka_topic]
            assert len(md.partitions) == 3
            resource = ConfigResource(ConfigResource.Type.TOPIC, kafka_topic)
            configs = kafka_admin.describe_configs([resource])[resource].result()
            assert configs["retention.ms"].value == "60000"

        @pytest.mark.kafka_topic(name="orders-fixed")
        def test_named(kafka_topic):
            assert kafka_topic == "orders-fixed"

        def test_unmarked(kafka, kafka_topic, kafka_admin):
            md = kafka_admin.list_topics(kafka_topic).topics[kafka_topic]
            assert len(md.partitions) == 1
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=3)


def test_kafka_topic_marker_rejects_unknown_arguments(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kafka_topic(partition=3)
        def test_typo(kafka_topic):
            pass
        """
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*kafka_topic takes only the keyword arguments*got*partition*"])


KEEP_TEST = """
names = []

def test_make(kafka_topic, kafka_topic_factory):
    names.extend([kafka_topic, kafka_topic_factory()])

def test_check(kafka):
    print("KEPT", sorted(set(names) & set(kafka.topics())) == sorted(names))
"""


@pytest.mark.parametrize(
    ("how", "args", "ini", "env"),
    [
        ("flag", ["--kafka-keep-topics"], None, None),
        ("ini", [], "[pytest]\nstreamtest_keep_topics = true\n", None),
        ("env", [], None, "1"),
    ],
)
def test_topics_are_kept_when_asked(pytester: pytest.Pytester, monkeypatch, how, args, ini, env):
    if ini:
        pytester.makeini(ini)
    if env:
        monkeypatch.setenv("STREAMTEST_KEEP_TOPICS", env)
    pytester.makepyfile(KEEP_TEST)
    result = pytester.runpytest_inprocess("-s", *args)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*KEPT True*"])


def test_topics_are_not_kept_by_default(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        names = []

        def test_make(kafka_topic, kafka_topic_factory):
            names.extend([kafka_topic, kafka_topic_factory()])

        def test_check(kafka):
            assert not set(names) & set(kafka.topics())
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=2)


def test_keep_marker_keeps_one_topic(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest
        names = []

        @pytest.mark.kafka_topic(keep=True)
        def test_kept(kafka_topic):
            names.append(kafka_topic)

        def test_check(kafka):
            assert names[0] in kafka.topics()
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=2)


def test_kafka_topic_factory_makes_topics_of_any_shape(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        made = []

        def test_factory(kafka, kafka_topic_factory, kafka_admin):
            a = kafka_topic_factory()
            b = kafka_topic_factory("explicit-name", partitions=4,
                                    config={"cleanup.policy": "compact"})
            assert b == "explicit-name" and a != b
            md = kafka_admin.list_topics().topics
            assert len(md[a].partitions) == 1 and len(md[b].partitions) == 4
            made.extend([a, b])

        def test_cleaned(kafka):
            assert not set(made) & set(kafka.topics())
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=2)


def test_kafka_producer_is_bound_to_the_cluster(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        from streamtest import eventually

        def test_produce_and_read(kafka, kafka_topic, kafka_producer):
            kafka_producer.produce(kafka_topic, b"hello", key=b"k", headers=[("h", b"1")])
            kafka_producer.flush(10)
            records = eventually(lambda: kafka.records(kafka_topic))
            assert [(r.key, r.value, r.headers) for r in records] == [
                (b"k", b"hello", [("h", b"1")])
            ]
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


def test_kafka_producer_is_flushed_at_teardown(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest
        topic = []

        @pytest.mark.kafka_topic(keep=True)
        def test_produce_without_flush(kafka_topic, kafka_producer):
            kafka_producer.produce(kafka_topic, b"hello")  # no flush: teardown does it
            topic.append(kafka_topic)

        def test_delivered(kafka):
            assert [r.value for r in kafka.records(topic[0])] == [b"hello"]
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=2)


def test_kafka_admin_is_bound_to_the_cluster(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        def test_admin(kafka, kafka_admin, kafka_topic):
            assert kafka_topic in kafka_admin.list_topics(timeout=10).topics
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


def test_kafka_consumer_has_a_unique_group_and_its_own_client(pytester: pytest.Pytester):
    # Group-less check (works without consumer-group support): the consumer talks to
    # the cluster and can read an assigned partition from the start.
    pytester.makepyfile(
        """
        from confluent_kafka import TopicPartition, OFFSET_BEGINNING

        def test_assign(kafka, kafka_topic, kafka_consumer):
            kafka.send(kafka_topic, ["a", "b"])
            kafka_consumer.assign([TopicPartition(kafka_topic, 0, OFFSET_BEGINNING)])
            got = []
            while len(got) < 2:
                msg = kafka_consumer.poll(10)
                assert msg is not None and msg.error() is None
                got.append(msg.value())
            assert got == [b"a", b"b"]
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


def test_kafka_consumer_subscribes_from_earliest_in_a_fresh_group(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest

        def read_all(consumer, n):
            got = []
            while len(got) < n:
                msg = consumer.poll(15)
                assert msg is not None, "no message within 15s"
                assert msg.error() is None, msg.error()
                got.append(msg.value())
            return got

        @pytest.mark.parametrize("run", [1, 2])
        def test_subscribe(kafka, kafka_topic, kafka_consumer, run):
            # Messages sent before subscribing are read: auto.offset.reset=earliest.
            kafka.send(kafka_topic, ["x", "y", "z"])
            kafka_consumer.subscribe([kafka_topic])
            assert read_all(kafka_consumer, 3) == [b"x", b"y", b"z"]
            kafka_consumer.commit(asynchronous=False)
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=2)
