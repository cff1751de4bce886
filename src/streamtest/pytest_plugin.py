"""The streamtest pytest plugin, registered through the ``pytest11`` entry point.

Installing streamtest is enough: these fixtures are then available everywhere.

- ``kafka``: the session's :class:`~streamtest.Cluster`;
- ``kafka_topic``: a fresh topic per test (``@pytest.mark.kafka_topic(partitions=3)``);
- ``kafka_topic_factory``: ``factory(name=None, partitions=1, config=None) -> str``;
- ``kafka_producer``, ``kafka_consumer``, ``kafka_admin``: confluent-kafka clients;
- ``kafka_share_consumer``: a ``ShareConsumer`` (KIP-932) in a unique share group
  reading from the earliest offset (``@pytest.mark.kafka_share_consumer(mode="explicit")``
  for explicit acknowledgement); ``kafka_share_consumer_factory`` makes several,
  in one group by default;
- ``kafka_settings``: the resolved backend settings, for reporting and skipping.

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
    parser.addini("streamtest_backend", "Default for --kafka-backend.", default="")
    parser.addini(
        "streamtest_bootstrap_servers", "Default for --kafka-bootstrap-servers.", default=""
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
    """Register the plugin's markers (so ``--strict-markers`` accepts them)."""
    config.addinivalue_line(
        "markers",
        "kafka_topic(partitions=1, config=None, name=None, keep=False): shape of the "
        "topic the kafka_topic fixture creates for this test.",
    )
    config.addinivalue_line(
        "markers",
        "kafka_share_consumer(mode='implicit'): acknowledgement mode (implicit or "
        "explicit) of the kafka_share_consumer fixtures in this test.",
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
kafka_share_consumer = factories.kafka_share_consumer()
kafka_share_consumer_factory = factories.kafka_share_consumer_factory()
