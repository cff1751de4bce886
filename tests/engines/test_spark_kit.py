"""streamtest.kit.spark against a real Spark and real brokers: deadlines, failures
raised as the query's own exception, KafkaUtils on an external cluster (Apache
Kafka itself), and the connector error for a Spark version without one."""

from __future__ import annotations

import pytest

from streamtest import KafkaUtils
from streamtest.kit import spark as sk
from streamtest.kit.engines import ConnectorUnavailable

pytestmark = pytest.mark.slow


def test_a_failed_query_raises_its_own_exception_not_a_timeout(spark, kafka, kafka_topic):
    from pyspark.errors import StreamingQueryException

    def broken_sink(batch_df, batch_id):
        raise ZeroDivisionError(f"sink bug in batch {batch_id}")

    kafka.send(kafka_topic, [("k", "v")])
    query = sk.read_kafka_stream(spark, kafka, kafka_topic).writeStream.foreachBatch(broken_sink)
    query = query.start()
    try:
        with pytest.raises(StreamingQueryException, match="sink bug in batch 0") as raised:
            sk.process_all_available(query, timeout=600)
        assert not isinstance(raised.value, sk.QueryTimeout)
        # It is the query's exception, as StreamingQuery.exception() reports it.
        assert "ZeroDivisionError" in str(query.exception())
    finally:
        query.stop()


def test_a_query_that_never_catches_up_times_out_and_is_stopped(spark):
    # rate-micro-batch offers rowsPerBatch new rows at every trigger, so there is
    # always more input and processAllAvailable never returns. (The plain "rate"
    # source advances once a second, so it does run dry between seconds.)
    endless = spark.readStream.format("rate-micro-batch").option("rowsPerBatch", 10).load()
    query = endless.writeStream.format("noop").start()
    try:
        with pytest.raises(sk.QueryTimeout, match="did not process all available input"):
            sk.process_all_available(query, timeout=2)
        assert not query.isActive
    finally:
        query.stop()


def test_wait_for_query_alive_on_a_real_query(spark, kafka, kafka_topic):
    utils = KafkaUtils(backend="external", bootstrap_servers=kafka.bootstrap_servers)
    with utils:
        kafka.send(kafka_topic, [("k", "v")])
        query = sk.read_kafka_stream(spark, kafka, kafka_topic).writeStream.format("noop").start()
        try:
            utils.wait_for_query_alive(query, timeout=300)
        finally:
            query.stop()


def test_wait_for_query_alive_reraises_the_query_failure(spark, kafka, kafka_topic):
    from pyspark.errors import StreamingQueryException

    def broken_sink(batch_df, batch_id):
        raise ValueError("broken before it was ever alive")

    utils = KafkaUtils(backend="external", bootstrap_servers=kafka.bootstrap_servers)
    with utils:
        kafka.send(kafka_topic, [("k", "v")])
        stream = sk.read_kafka_stream(spark, kafka, kafka_topic)
        query = stream.writeStream.foreachBatch(broken_sink).start()
        try:
            with pytest.raises(StreamingQueryException, match="broken before"):
                sk.process_all_available(query, timeout=600)
            # Once failed, wait_for_query_alive raises the same failure at once.
            with pytest.raises(StreamingQueryException, match="broken before"):
                utils.wait_for_query_alive(query, timeout=600)
        finally:
            query.stop()


def test_get_all_records_with_spark_on_apache_kafka(spark, reference_kafka, topic_name):
    # "external": a cluster KafkaUtils did not start; here the real Apache Kafka.
    with KafkaUtils(backend="external", bootstrap_servers=reference_kafka.bootstrap_servers) as u:
        u.create_topics([topic_name], num_partitions=2)
        u.send_messages(topic_name, [("k1", "1"), ("k2", "2"), ("k1", "3")])
        assert u.get_all_records(spark, topic_name) == {"k1": "3", "k2": "2"}
        assert u.get_all_records(spark, topic_name, value_deserializer="INT") == {
            "k1": 3,
            "k2": 2,
        }


def test_read_kafka_reads_several_topics_and_patterns(spark, kafka, kafka_topic_factory):
    first, second = kafka_topic_factory(), kafka_topic_factory()
    kafka.send(first, [("a", "1")])
    kafka.send(second, [("b", "2")])
    both = sk.read_kafka(spark, kafka, [first, second]).selectExpr("topic", "CAST(key AS STRING)")
    assert sorted(tuple(r) for r in both.collect()) == sorted([(first, "a"), (second, "b")])
    by_pattern = sk.read_kafka(spark, kafka, pattern=f"{first}|{second}").count()
    assert by_pattern == 2


def test_a_spark_version_without_a_connector_is_one_clear_line():
    with pytest.raises(ConnectorUnavailable) as raised:
        sk.kafka_connector_conf("3.9.99")
    message = str(raised.value)
    assert "\n" not in message
    assert "org.apache.spark:spark-sql-kafka-0-10_" in message and ":3.9.99" in message
    assert f"pyspark=={sk.SPARK_TESTED_VERSION}" in message
    assert raised.value.artifact.endswith(":3.9.99")


def test_kafka_options_for_topics_patterns_and_offsets():
    opts = sk.kafka_options("h:1", ["a", "b"], startingOffsets={"a": {"0": 5}}, includeHeaders=True)
    assert opts == {
        "kafka.bootstrap.servers": "h:1",
        "kafka.fetch.max.wait.ms": "50",
        "subscribe": "a,b",
        "startingOffsets": '{"a": {"0": 5}}',
        "includeHeaders": "true",
    }
    assert sk.kafka_options("h:1", pattern="t-.*")["subscribePattern"] == "t-.*"
    with pytest.raises(ValueError, match="exactly one of topic and pattern"):
        sk.kafka_options("h:1", "a", pattern="b")


IVY_SCRIPT = """
from streamtest import EmbeddedCluster
from streamtest.kit import reference_kafka
from streamtest.kit.engines import ConnectorUnavailable
from streamtest.kit.spark import kafka_connector_conf, read_kafka, spark_session

def no_maven():
    raise reference_kafka.MavenNotFound("mvn not found (hidden by the test)")

reference_kafka.maven_executable = no_maven  # as on a machine without Maven
conf = kafka_connector_conf()
assert "spark.jars.packages" in conf, conf  # Spark's own resolver, not Maven

# A connector Spark's resolver cannot find: one line naming it, not py4j's error.
bad = "org.apache.spark:spark-sql-kafka-0-10_2.13:0.0.1"
try:
    spark_session("ivy-missing", conf={"spark.jars.packages": bad})
except ConnectorUnavailable as exc:
    print("UNAVAILABLE", exc)
with EmbeddedCluster() as kafka:
    kafka.send("t", [("k", "v")])
    spark = spark_session("ivy-fallback")
    rows = read_kafka(spark, kafka, "t").selectExpr("CAST(value AS STRING) AS v").collect()
    print("VALUES", [r.v for r in rows])
    spark.stop()
"""


def test_without_maven_spark_resolves_the_connector_itself():
    import os
    import subprocess
    import sys

    from streamtest.kit.reference_kafka import cache_dir

    # Its own cache folder (kept between runs on one machine, so Ivy downloads the
    # connector once), where Maven has never put the jars.
    env = dict(os.environ, STREAMTEST_CACHE_DIR=str(cache_dir() / "no-maven"))
    proc = subprocess.run(
        [sys.executable, "-c", IVY_SCRIPT], env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "VALUES ['v']" in proc.stdout
    unavailable = [ln for ln in proc.stdout.splitlines() if ln.startswith("UNAVAILABLE")]
    assert len(unavailable) == 1, proc.stdout
    assert "org.apache.spark:spark-sql-kafka-0-10_2.13:0.0.1" in unavailable[0]
    assert "pyspark==" in unavailable[0]
