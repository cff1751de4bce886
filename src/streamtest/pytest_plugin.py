"""The streamtest pytest plugin, registered through the ``pytest11`` entry point.

Installing streamtest is enough: these fixtures are then available everywhere.

- ``kafka``: the session's :class:`~streamtest.Cluster`;
- ``kafka_topic``: a fresh topic per test (``@pytest.mark.kafka_topic(partitions=3)``);
- ``kafka_topic_factory``: ``factory(name=None, partitions=1, config=None) -> str``;
- ``kafka_producer``, ``kafka_consumer``, ``kafka_admin``: confluent-kafka clients;
- ``kafka_group_id``: a consumer group id unique to the test, deleted afterwards;
- ``kafka_settings``: the resolved backend settings, for reporting and skipping;
- ``schema_registry_url``: a Confluent-compatible schema registry (streamtest's own,
  on the ``kafka`` cluster, unless ``--schema-registry-url`` names one);
- ``schema_registry``: a confluent-kafka ``SchemaRegistryClient`` for it;
- ``spark``: a session-scoped SparkSession with Spark's Kafka connector
  (``streamtest[spark]``);
- ``flink_kafka_connector``, ``flink_table_env``, ``flink_stream_env``: PyFlink
  environments with Flink's Kafka connector (``streamtest[flink]``).

The Spark and Flink fixtures import pyspark/pyflink only when a test asks for
them, and skip with one line where the extra or Java is missing.

The backend comes from, highest precedence first: a fixture-factory argument
(:mod:`streamtest.factories`), ``--kafka-backend``/``--kafka-bootstrap-server``,
the ``streamtest_backend``/``streamtest_bootstrap_server`` ini options, and the
``STREAMTEST_BACKEND``/``STREAMTEST_BOOTSTRAP_SERVER`` environment variables. The
plural spellings (``--kafka-bootstrap-servers``, ``streamtest_bootstrap_servers``,
``STREAMTEST_BOOTSTRAP_SERVERS``) are accepted as well.

Only option parsing and fixture declarations live here: the plugin is loaded by
every pytest run in an environment with streamtest installed, so importing it
must cost little; the cluster starts only when a test asks for ``kafka``.

pytest rewrites the asserts of every module of a distribution that registers a
plugin, and for an installed streamtest that means the whole package: the broker,
the protocol layer, the kit. Rewriting parses and recompiles each module (and,
without a writable ``__pycache__`` or with ``PYTHONDONTWRITEBYTECODE``, does so in
every run), which made the first test's setup three times slower. streamtest's own
code reports failures with explicit messages, not bare asserts, so this module
imports the rest of the package the ordinary way (:class:`_ImportPlainly`); the
user's tests and conftests are rewritten as always.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Generator, Sequence
from typing import Any


class _ImportPlainly(importlib.abc.MetaPathFinder):
    """Finds ``streamtest.*`` modules with the standard path finder, ahead of pytest's
    assertion-rewriting import hook, so they load from their normal bytecode cache."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        """Return the standard spec for streamtest's submodules; ``None`` otherwise."""
        if fullname.startswith("streamtest.") and path is not None:
            return importlib.machinery.PathFinder.find_spec(fullname, path)
        return None


if not any(isinstance(f, _ImportPlainly) for f in sys.meta_path):
    sys.meta_path.insert(0, _ImportPlainly())

import pytest  # noqa: E402

from .kit import factories  # noqa: E402
from .kit.backends import BACKENDS, Settings  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the command-line and ini options."""
    group = parser.getgroup("streamtest", "streamtest Kafka fixtures")
    group.addoption(
        "--kafka-backend",
        choices=BACKENDS,
        default=None,
        help="Kafka for the kafka* fixtures: embedded (default), apache (Apache Kafka "
        "in a JVM, from Maven Central), kafka, redpanda (Docker containers) or external "
        "(needs --kafka-bootstrap-server).",
    )
    group.addoption(
        "--kafka-bootstrap-server",
        dest="kafka_bootstrap_servers",
        default=None,
        metavar="HOST:PORT[,...]",
        help="An existing cluster to test against; implies --kafka-backend=external.",
    )
    # The plural spelling is accepted too, without a second line of help.
    group.addoption(
        "--kafka-bootstrap-servers",
        dest="kafka_bootstrap_servers",
        default=None,
        help=argparse.SUPPRESS,
    )
    group.addoption(
        "--kafka-brokers",
        default=None,
        metavar="N",
        help="Nodes of the embedded cluster (default 1).",
    )
    group.addoption(
        "--kafka-setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="A broker setting of the embedded cluster in Kafka's name, e.g. "
        "log.retention.ms=60000 (repeatable).",
    )
    group.addoption(
        "--kafka-keep-topics",
        action="store_true",
        default=False,
        help="Keep the topics made by kafka_topic and kafka_topic_factory after each test.",
    )
    group.addoption(
        "--schema-registry-url",
        default=None,
        metavar="URL",
        help="A schema registry for the schema_registry* fixtures (for example a real "
        "one beside an external cluster); default: streamtest's own, on the kafka cluster.",
    )
    parser.addini("streamtest_backend", "Default for --kafka-backend.", default="")
    parser.addini(
        "streamtest_schema_registry_url", "Default for --schema-registry-url.", default=""
    )
    parser.addini(
        "streamtest_bootstrap_server", "Default for --kafka-bootstrap-server.", default=""
    )
    parser.addini(
        "streamtest_bootstrap_servers", "Same as streamtest_bootstrap_server.", default=""
    )
    parser.addini(
        "streamtest_keep_topics", "Default for --kafka-keep-topics (true/false).", default=""
    )
    parser.addini("streamtest_brokers", "Default for --kafka-brokers.", default="")
    parser.addini(
        "streamtest_settings",
        "Broker settings of the embedded cluster, one KEY=VALUE per line.",
        type="linelist",
        default=[],
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
        return str(exc)  # already "streamtest: ..."
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
schema_registry_url = factories.schema_registry_url()
schema_registry = factories.schema_registry()
kafka_group_id = factories.kafka_group_id()
spark = factories.spark_session()
flink_kafka_connector = factories.flink_kafka_connector()
flink_table_env = factories.flink_table_env()
flink_stream_env = factories.flink_stream_env()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When a test fails, add the records of the topics its fixtures made to the
    report (``Cluster.dump``), as a section shown with the failure."""
    report = yield
    if call.when == "call" and report.failed:
        for cluster, topic in factories.topics_used(item):
            try:
                text = cluster.dump(topic, timeout=5)
            except Exception as exc:  # the report must not fail because the topic did
                text = f"(could not read {topic}: {type(exc).__name__}: {exc})"
            report.sections.append((f"streamtest: records of {topic}", text))
    return report
