"""streamtest.kit.flink against a real Flink: a failing job raises its root cause at
once (no restarts, no timeout), and an unknown Flink version gets one clear line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamtest.kit import flink as fk
from streamtest.kit.engines import ConnectorUnavailable


def test_the_connector_follows_the_flink_minor_version():
    assert fk.kafka_connector_coordinate("2.2.0") == (
        "org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2"
    )
    assert fk.kafka_connector_coordinate("1.20.3").endswith(":3.4.0-1.20")
    assert fk.kafka_connector_coordinate("9.9.0", "1.0.0-9.9").endswith(":1.0.0-9.9")


def test_an_unknown_flink_version_is_one_clear_line(monkeypatch):
    monkeypatch.delenv(fk.ENV_CONNECTOR, raising=False)
    with pytest.raises(ConnectorUnavailable) as raised:
        fk.kafka_connector_coordinate("3.7.1")
    message = str(raised.value)
    assert "\n" not in message
    assert "org.apache.flink:flink-sql-connector-kafka" in message and "Flink 3.7.1" in message
    assert f"apache-flink=={fk.FLINK_TESTED_VERSION}" in message
    assert fk.ENV_CONNECTOR in message


def test_a_connector_release_that_does_not_exist_is_one_clear_line():
    pytest.importorskip("pyflink")
    with pytest.raises(ConnectorUnavailable) as raised:
        fk.kafka_connector_jars("2.2.1", connector_version="0.0.1-2.2")
    message = str(raised.value)
    assert "\n" not in message
    assert "org.apache.flink:flink-sql-connector-kafka:0.0.1-2.2" in message


@pytest.mark.slow
def test_a_failing_job_raises_its_root_cause_not_a_timeout(flink_table_env, kafka, kafka_topic):
    # A record that is not JSON, read with parse errors not ignored: the job fails.
    kafka.send(kafka_topic, [("k", "this is not json")])
    flink_table_env.execute_sql(f"""
        CREATE TABLE src (id INT) WITH (
            'connector' = 'kafka',
            'topic' = '{kafka_topic}',
            'properties.bootstrap.servers' = '{kafka.bootstrap_servers}',
            'scan.startup.mode' = 'earliest-offset',
            'scan.bounded.mode' = 'latest-offset',
            'format' = 'json',
            'json.ignore-parse-errors' = 'false'
        )""")
    flink_table_env.execute_sql("CREATE TABLE sink (id INT) WITH ('connector' = 'blackhole')")
    with pytest.raises(fk.JobFailed) as raised:
        fk.wait_for_job(flink_table_env.execute_sql("INSERT INTO sink SELECT id FROM src"), 600)
    # The job's own root cause, raised at once: no restarts (restart-strategy none).
    assert raised.value.root_cause.endswith("JsonParseException")
    assert "Unrecognized token 'this'" in str(raised.value)


@pytest.fixture
def flink_gateway_up() -> None:
    """Launch PyFlink's gateway (once per process), as an earlier Flink test would."""
    java_gateway = pytest.importorskip("pyflink.java_gateway")
    java_gateway.get_gateway()


@pytest.fixture
def spark_ran_here_before(flink_gateway_up: None) -> Iterator[object]:
    """Leave py4j as a PySpark session in this process leaves it, after Flink's
    gateway is up: with Spark's exception handler installed."""
    captured = pytest.importorskip("pyspark.errors.exceptions.captured")
    import py4j.java_gateway

    before = py4j.java_gateway.get_return_value
    captured.install_exception_handler()
    spark_handler = py4j.java_gateway.get_return_value
    yield spark_handler
    assert py4j.java_gateway.get_return_value is spark_handler, "Spark's handler is restored"
    py4j.java_gateway.get_return_value = before


@pytest.mark.slow
def test_a_flink_job_runs_in_a_process_where_spark_ran(spark_ran_here_before, flink_stream_env):
    # Seen on CI (Flink test, then Spark test, then Flink test in one xdist worker):
    # execute() failed in PyFlink's own reflection (NoSuchFieldException:
    # transformations) under Spark's py4j handler.
    from pyflink.common import Types

    flink_stream_env.from_collection([1, 2, 3], type_info=Types.INT()).map(
        lambda x: x * 2, output_type=Types.INT()
    ).print()
    fk.execute(flink_stream_env, "after-spark", timeout=300)
