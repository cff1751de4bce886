"""KafkaUtils, TopicFactory and eventually, outside the seed-shaped example."""

from __future__ import annotations

import pytest

from streamtest import BackendUnavailable, KafkaUtils, TopicFactory, assert_eventually, eventually
from streamtest.kit.cluster import unique_name


@pytest.fixture(scope="module")
def utils():
    kafka_utils = KafkaUtils()
    kafka_utils.setup()
    yield kafka_utils
    kafka_utils.teardown()


def test_kafka_utils_setup_twice_is_a_no_op_and_teardown_twice_is_safe():
    utils = KafkaUtils()
    utils.teardown()  # before setup: fine
    utils.setup()
    broker = utils.broker
    utils.setup()
    assert utils.broker == broker and utils.initialized
    utils.teardown()
    utils.teardown()
    assert not utils.initialized
    with pytest.raises(RuntimeError, match="Call setup"):
        _ = utils.broker


def test_kafka_utils_properties_are_confluent_clients(utils):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient

    assert isinstance(utils.producer, Producer)
    assert isinstance(utils.admin_client, AdminClient)
    assert utils.broker == utils.cluster.bootstrap_servers


def test_create_topics_ignores_existing_and_delete_ignores_missing(utils):
    name = unique_name("ku")
    utils.create_topics([name], num_partitions=2)
    utils.create_topics([name])  # exists: left alone, as in the seed
    assert len(utils.admin_client.list_topics(name).topics[name].partitions) == 2
    utils.delete_topics([name])
    utils.delete_topics([name])
    assert name not in utils.cluster.topics()


def test_get_all_records_later_offsets_win_and_deserializers(utils):
    name = unique_name("ku")
    utils.create_topics([name])
    utils.send_messages(name, [("k1", "v1"), ("k2", "v2"), ("k1", "v3"), ("k3", 7)])
    assert utils.get_all_records(None, name) == {"k1": "v3", "k2": "v2", "k3": "7"}
    binary = utils.get_all_records(None, name, "BINARY", value_deserializer="binary")
    assert binary[b"k1"] == b"v3"
    with pytest.raises(ValueError, match="STRING or BINARY"):
        utils.get_all_records(None, name, value_deserializer="INT")


# get_all_records(spark, ...) and wait_for_query_alive run against a real Spark in
# examples/spark/test_kafka_utils_spark.py and tests/engines/test_spark_kit.py.


def test_kafka_utils_assert_eventually_has_the_seed_signature(utils):
    values = iter([{}, {"a": 1}, {"a": 1, "b": 2}])
    utils.assert_eventually(lambda: next(values), {"a": 1, "b": 2}, 5, 0.001)
    with pytest.raises(AssertionError, match=r"1 == 2 not reached within 0.05s .* last value: 1"):
        utils.assert_eventually(lambda: 1, 2, timeout=0.05, interval=0.01)


def test_kafka_utils_backend_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STREAMTEST_BACKEND", "kafka")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    utils = KafkaUtils(kafka_version="7.5.0")
    with pytest.raises(BackendUnavailable, match="cp-kafka:7.5.0.*no Docker engine"):
        utils.setup()
    utils.teardown()  # after a failed setup: fine
    assert KafkaUtils(backend="embedded").backend == "embedded"


def test_topic_factory_from_bootstrap_servers_like_the_seed(utils):
    with TopicFactory(utils.broker) as factory:
        a = factory.create_topic("tf-seed-a", num_partitions=3)
        b = factory(partitions=1)
        assert factory.created_topics == [a, b]
        assert {a, b} <= set(utils.cluster.topics())
        utils.delete_topics([a])  # deleted behind its back: cleanup copes
        factory.cleanup()
        assert factory.created_topics == []
        assert not {a, b} & set(utils.cluster.topics())
        factory.create_topic("tf-seed-c")
    assert "tf-seed-c" not in utils.cluster.topics()  # close() cleaned up too


def test_eventually_returns_the_first_truthy_value_and_reports_the_last_error():
    attempts = iter([None, 0, "ready"])
    assert eventually(lambda: next(attempts), timeout=5, interval=0.001) == "ready"

    def broken() -> None:
        raise ValueError("still broken")

    with pytest.raises(AssertionError, match="ValueError: still broken") as info:
        eventually(broken, timeout=0.05, interval=0.01)
    # Kept on the error, not chained (pytest would print two tracebacks).
    assert isinstance(info.value.last_exception, ValueError)
    assert info.value.__cause__ is None
    assert assert_eventually(lambda: 3, 3) == 3
