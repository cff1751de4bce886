"""The seed's PySpark ``KafkaUtils`` patterns, for real: Spark reads and writes
Kafka through its own connector, and the broker is streamtest's embedded one.

The seed (PySpark's Kafka test guide) starts Kafka in a Docker container, 10-30 s
per test class. Here ``KafkaUtils()`` starts the embedded broker in milliseconds;
the rest of each pattern is the seed's: Spark's ``kafka`` batch source and sink,
a streaming query with a checkpoint, ``wait_for_query_alive``,
``assert_eventually`` and ``get_all_records(spark, topic)``, which reads the
topic with Spark's Kafka source.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamtest import KafkaUtils
from streamtest.kit.spark import process_all_available

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kafka_utils() -> Iterator[KafkaUtils]:
    # The seed's setUpClass/tearDownClass.
    with KafkaUtils() as utils:
        yield utils


def test_kafka_batch(spark, kafka_utils):
    """Pattern 1: write a DataFrame to Kafka with Spark's batch sink, read it back."""
    topic = "batch-topic"
    kafka_utils.create_topics([topic])
    df = spark.createDataFrame([("key1", "value1"), ("key2", "value2")], ["key", "value"])
    (
        df.selectExpr("CAST(key AS BINARY) AS key", "CAST(value AS BINARY) AS value")
        .write.format("kafka")
        .option("kafka.bootstrap.servers", kafka_utils.broker)
        .option("topic", topic)
        .save()
    )
    assert kafka_utils.get_all_records(spark, topic) == {"key1": "value1", "key2": "value2"}
    # The same records, read without Spark, agree.
    assert kafka_utils.get_all_records(None, topic) == {"key1": "value1", "key2": "value2"}


def test_kafka_streaming(spark, kafka_utils, tmp_path):
    """Pattern 2: a streaming query from one topic to another, with a checkpoint."""
    source_topic, sink_topic = "stream-source", "stream-sink"
    kafka_utils.create_topics([source_topic, sink_topic])
    kafka_utils.send_messages(source_topic, [("k1", "v1")])
    query = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", kafka_utils.broker)
        .option("subscribe", source_topic)
        .option("startingOffsets", "earliest")
        .load()
        .selectExpr("key", "value")
        .writeStream.format("kafka")
        .option("kafka.bootstrap.servers", kafka_utils.broker)
        .option("topic", sink_topic)
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .start()
    )
    try:
        kafka_utils.wait_for_query_alive(query)
        kafka_utils.assert_eventually(
            lambda: kafka_utils.get_all_records(spark, sink_topic), {"k1": "v1"}
        )
        # A record sent while the query runs flows through too.
        kafka_utils.send_messages(source_topic, [("k2", "v2")])
        kafka_utils.assert_eventually(
            lambda: kafka_utils.get_all_records(spark, sink_topic), {"k1": "v1", "k2": "v2"}
        )
    finally:
        query.stop()


def test_kafka_aggregation(spark, kafka_utils, tmp_path):
    """Pattern 3: a stateful aggregation (count per key) written back to Kafka."""
    source, sink = "agg-source", "agg-sink"
    kafka_utils.create_topics([source, sink], num_partitions=2)
    kafka_utils.send_messages(source, [("user1", "1"), ("user2", "1"), ("user1", "1")])
    query = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", kafka_utils.broker)
        .option("subscribe", source)
        .option("startingOffsets", "earliest")
        .load()
        .groupBy("key")
        .count()
        .selectExpr("CAST(key AS BINARY) AS key", "CAST(count AS STRING) AS value")
        .writeStream.format("kafka")
        .outputMode("update")
        .option("kafka.bootstrap.servers", kafka_utils.broker)
        .option("topic", sink)
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .start()
    )
    try:
        process_all_available(query)
        assert kafka_utils.get_all_records(spark, sink) == {"user1": "2", "user2": "1"}
        kafka_utils.send_messages(source, [("user2", "1")])
        process_all_available(query)
        # Update mode writes the changed count; later offsets win in get_all_records.
        assert kafka_utils.get_all_records(spark, sink) == {"user1": "2", "user2": "2"}
    finally:
        query.stop()


def test_multiple_topics(spark, kafka_utils):
    """Pattern 4: one batch write fans out to several topics by a ``topic`` column."""
    topic1, topic2 = "fan-out-1", "fan-out-2"
    kafka_utils.create_topics([topic1, topic2])
    df = spark.createDataFrame(
        [(topic1, "key1", "value1"), (topic2, "key2", "value2")], ["topic", "key", "value"]
    )
    (
        df.selectExpr("topic", "CAST(key AS BINARY) AS key", "CAST(value AS BINARY) AS value")
        .write.format("kafka")
        .option("kafka.bootstrap.servers", kafka_utils.broker)
        .save()
    )
    assert kafka_utils.get_all_records(spark, topic1) == {"key1": "value1"}
    assert kafka_utils.get_all_records(spark, topic2) == {"key2": "value2"}


def test_get_all_records_casts_with_spark(spark, kafka_utils):
    """``key_deserializer``/``value_deserializer`` are Spark casts of the raw bytes."""
    topic = "casts"
    kafka_utils.create_topics([topic])
    kafka_utils.send_messages(topic, [("a", "41"), ("b", "7"), ("a", "42")])
    assert kafka_utils.get_all_records(spark, topic, value_deserializer="INT") == {
        "a": 42,
        "b": 7,
    }
    assert kafka_utils.get_all_records(spark, topic, "BINARY", "STRING") == {
        b"a": "42",
        b"b": "7",
    }
