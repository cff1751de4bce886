"""The streamtest pytest plugin, registered through the ``pytest11`` entry point.

Installing streamtest is enough: these fixtures are then available everywhere.

- ``kafka``: the session's :class:`~streamtest.Cluster`;
- ``kafka_topic``: a fresh topic per test (``@pytest.mark.kafka_topic(partitions=3)``);
- ``kafka_topic_factory``: ``factory(name=None, partitions=1, config=None) -> str``;
- ``kafka_producer``, ``kafka_consumer``, ``kafka_admin``: confluent-kafka clients;
- ``kafka_settings``: the resolved backend settings, for reporting and skipping;
- ``spark``: a session-scoped SparkSession with Spark's Kafka connector
  (``streamtest[spark]``);
- ``flink_kafka_connector``, ``flink_table_env``, ``flink_stream_env``: PyFlink
  environments with Flink's Kafka connector (``streamtest[flink]``).

The Spark and Flink fixtures import pyspark/pyflink only when a test asks for
them, and skip with one line where the extra or Java is missing.

The backend comes from, highest precedence first: a fixture-factory argument
(:mod:`streamtest.factories`), ``--kafka-backend``/``--kafka-bootstrap-servers``,
the ``streamtest_backend``/``streamtest_bootstrap_servers`` ini options, and the
``STREAMTEST_BACKEND``/``STREAMTEST_BOOTSTRAP_SERVERS`` environment variables.

Only option parsing and fixture declarations live here: the plugin is loaded by
every pytest run in an environment with streamtest installed, so importing it
must cost nothing; the cluster starts only when a test asks for ``kafka``.
"""

from __future__ import annotations

import pytest

from .kit import factories
from .kit.backends import BACKENDS, Settings


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the command-line and ini options."""
    group = parser.getgroup("streamtest", "streamtest Kafka fixtures")
    group.addoption(
        "--kafka-backend",
        choices=BACKENDS,
        default=None,
        help="Kafka for the kafka* fixtures: embedded (default), apache (Apache Kafka "
        "in a JVM, from Maven Central), kafka, redpanda (Docker containers) or external "
        "(needs --kafka-bootstrap-servers).",
    )
    group.addoption(
        "--kafka-bootstrap-servers",
        default=None,
        metavar="HOST:PORT[,...]",
        help="An existing cluster to test against; implies --kafka-backend=external.",
    )
    group.addoption(
        "--kafka-keep-topics",
        action="store_true",
        default=False,
        help="Keep the topics made by kafka_topic and kafka_topic_factory after each test.",
    )
    parser.addini("streamtest_backend", "Default for --kafka-backend.", default="")
    parser.addini(
        "streamtest_bootstrap_servers", "Default for --kafka-bootstrap-servers.", default=""
    )
    parser.addini(
        "streamtest_keep_topics", "Default for --kafka-keep-topics (true/false).", default=""
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``kafka_topic`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "kafka_topic(partitions=1, config=None, name=None, keep=False): shape of the "
        "topic the kafka_topic fixture creates for this test.",
    )


def pytest_report_header(config: pytest.Config) -> str:
    """Say which backend the ``kafka`` fixture will use, and why."""
    try:
        settings = factories.settings_for(config)
    except pytest.UsageError as exc:
        return f"streamtest: {exc}"
    return f"streamtest: {settings.describe()}"


@pytest.fixture(scope="session")
def kafka_settings(request: pytest.FixtureRequest) -> Settings:
    """The backend settings from the command line, ini file and environment."""
    return factories.settings_for(request.config)


kafka = factories.kafka_cluster()
kafka_topic = factories.kafka_topic(marker="kafka_topic")
kafka_topic_factory = factories.kafka_topic_factory()
kafka_producer = factories.kafka_producer()
kafka_consumer = factories.kafka_consumer()
kafka_admin = factories.kafka_admin()

spark = factories.spark_session()
flink_kafka_connector = factories.flink_kafka_connector()
flink_table_env = factories.flink_table_env()
flink_stream_env = factories.flink_stream_env()
