"""The seed's KafkaUtils test, ported unchanged but for the import line.

The seed (PySpark's Kafka test guide) starts a Kafka container in ``setUpClass``;
``streamtest.KafkaUtils`` has the same API and starts the embedded broker instead,
so the class below runs in milliseconds without Docker. Set
``STREAMTEST_BACKEND=kafka`` (with Docker) to run it against the seed's container.

Where the seed reads with Spark, ``get_all_records(spark, ...)`` is given
``spark=None`` here, so this file runs without pyspark: it then reads through the
Kafka client. With a SparkSession it reads through Spark's Kafka source; the same
patterns with a real Spark are in ``examples/spark/test_kafka_utils_spark.py``.
"""

from __future__ import annotations

import threading
import unittest

from streamtest import KafkaUtils  # the seed: from pyspark.sql.tests.streaming.kafka_utils


class MyKafkaTest(unittest.TestCase):
    spark = None  # no Spark in this file; see the module docstring

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.kafka_utils = KafkaUtils()
        cls.kafka_utils.setup()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.kafka_utils.teardown()
        super().tearDownClass()

    def test_kafka_read_write(self) -> None:
        # Create a topic
        topic = "test-topic"
        self.kafka_utils.create_topics([topic])

        # Send test data
        messages = [("key1", "value1"), ("key2", "value2")]
        self.kafka_utils.send_messages(topic, messages)

        # Verify data
        results = self.kafka_utils.get_all_records(self.spark, topic)
        self.assertEqual(len(results), 2)
        assert results == {"key1": "value1", "key2": "value2"}

    def test_kafka_multi_partition(self) -> None:
        self.kafka_utils.create_topics(["multi-partition-topic"], num_partitions=3)
        self.kafka_utils.send_messages(
            "multi-partition-topic",
            [
                ("user1", "login"),
                ("user2", "logout"),
                ("user1", "purchase"),
            ],
        )
        records = self.kafka_utils.get_all_records(self.spark, "multi-partition-topic")
        assert records == {"user1": "purchase", "user2": "logout"}

    def test_multiple_topics(self) -> None:
        topic1, topic2 = "topic1", "topic2"
        self.kafka_utils.create_topics([topic1, topic2])
        self.kafka_utils.send_messages(topic1, [("key1", "value1")])
        self.kafka_utils.send_messages(topic2, [("key2", "value2")])

        assert self.kafka_utils.get_all_records(self.spark, topic1) == {"key1": "value1"}
        assert self.kafka_utils.get_all_records(self.spark, topic2) == {"key2": "value2"}
        self.kafka_utils.delete_topics([topic1, topic2])

    def test_kafka_streaming_eventually(self) -> None:
        # The seed's streaming pattern, with a thread standing in for the Spark query:
        # it copies the source to the sink a little later.
        source_topic, sink_topic = "source", "sink"
        self.kafka_utils.create_topics([source_topic, sink_topic])
        self.kafka_utils.send_messages(source_topic, [("k1", "v1")])

        def copy_source_to_sink() -> None:
            records = self.kafka_utils.get_all_records(self.spark, source_topic)
            self.kafka_utils.send_messages(sink_topic, list(records.items()))

        query = threading.Thread(target=copy_source_to_sink)
        query.start()
        try:
            self.kafka_utils.assert_eventually(
                lambda: self.kafka_utils.get_all_records(self.spark, sink_topic),
                {"k1": "v1"},
                timeout=30,
            )
        finally:
            query.join(10)

    def test_properties(self) -> None:
        assert ":" in self.kafka_utils.broker  # host:port for kafka.bootstrap.servers
        self.kafka_utils.producer.produce("props-topic", b"direct")
        self.kafka_utils.producer.flush(10)
        assert "props-topic" in self.kafka_utils.admin_client.list_topics(timeout=10).topics
