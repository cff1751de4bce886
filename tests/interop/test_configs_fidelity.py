"""Topic and broker configs as Kafka 4.x reports and changes them (issue 14, item 2),
through confluent-kafka's AdminClient and Kafka's own kafka-configs tool, and
compared with Apache Kafka itself where the reference broker is available."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewTopic,
)

from streamtest import EmbeddedKafka
from streamtest.kit.wait import eventually

from .kafkatools import kafka_tool

pytestmark = pytest.mark.interop


def _new_topic(admin: AdminClient, **configs: str) -> str:
    name = f"cfg-{uuid.uuid4().hex[:10]}"
    admin.create_topics([NewTopic(name, 1, 1, config=configs)])[name].result(15)
    return name


def _describe(admin: AdminClient, resource: ConfigResource) -> dict[str, ConfigEntry]:
    # Apache Kafka may not know a topic for a moment after creating it (its
    # metadata propagates asynchronously); clients retry, and so does this.
    return eventually(
        lambda: admin.describe_configs([resource])[resource].result(15), timeout=30, interval=0.3
    )


def _incremental(admin: AdminClient, resource: ConfigResource) -> None:
    admin.incremental_alter_configs([resource])[resource].result(15)


def _node_id(admin: AdminClient) -> str:
    return str(next(iter(admin.list_topics(timeout=10).brokers)))


@pytest.fixture
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def test_subtracting_the_last_cleanup_policy_leaves_it_empty_confluent_kafka(admin):
    topic = _new_topic(admin)
    _incremental(
        admin,
        ConfigResource(
            "TOPIC",
            topic,
            incremental_configs=[
                ConfigEntry(
                    "cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT
                )
            ],
        ),
    )
    entry = _describe(admin, ConfigResource("TOPIC", topic))["cleanup.policy"]
    assert entry.value == ""
    assert entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value


def test_min_insync_replicas_is_a_cluster_level_dynamic_default_confluent_kafka(admin):
    # Kafka 4.1+ (KIP-966 ELR) records min.insync.replicas at the cluster level when
    # the cluster starts; every topic then reports that level as the source.
    topic = _new_topic(admin, **{"compression.type": "gzip"})
    configs = _describe(admin, ConfigResource("TOPIC", topic))
    entry = configs["min.insync.replicas"]
    assert (entry.value, entry.source) == ("1", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)
    assert not entry.is_default
    non_default = sorted(str(e) for e in configs.values() if not e.is_default)
    assert non_default == ['compression.type="gzip"', 'min.insync.replicas="1"']
    broker = _describe(admin, ConfigResource("BROKER", _node_id(admin)))
    assert broker["min.insync.replicas"].source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value


def test_advertised_listeners_is_read_only_and_static_confluent_kafka(admin, bootstrap):
    entry = _describe(admin, ConfigResource("BROKER", _node_id(admin)))["advertised.listeners"]
    assert entry.value == f"PLAINTEXT://{bootstrap}"
    assert entry.source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert entry.is_read_only


@pytest.fixture
def own_broker() -> Iterator[EmbeddedKafka]:
    """A broker of this test's own: the tests below change its dynamic configs."""
    with EmbeddedKafka() as kafka:
        yield kafka


def test_per_broker_dynamic_configs_follow_kafkas_rules_confluent_kafka(own_broker):
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap_servers})
    node = _node_id(admin)
    resource = ConfigResource(
        "BROKER",
        node,
        incremental_configs=[
            ConfigEntry("log.retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    _incremental(admin, resource)
    entry = _describe(admin, ConfigResource("BROKER", node))["log.retention.ms"]
    assert (entry.value, entry.source) == ("7200000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)
    # The one node's value is the cluster's: a new topic's retention default follows it.
    topic = _new_topic(admin)
    retention = _describe(admin, ConfigResource("TOPIC", topic))["retention.ms"]
    assert retention.value == "7200000"
    assert retention.source == ConfigSource.DYNAMIC_BROKER_CONFIG.value

    # Kafka refuses read-only keys with INVALID_REQUEST and names them.
    refused = ConfigResource(
        "BROKER",
        node,
        incremental_configs=[
            ConfigEntry("num.partitions", "3", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    with pytest.raises(KafkaException) as err:
        _incremental(admin, refused)
    assert err.value.args[0].name() == "INVALID_REQUEST"
    assert "Cannot update these configs dynamically: [num.partitions]" in err.value.args[0].str()


def test_dynamic_broker_configs_survive_a_restart_with_a_data_dir(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
        node = _node_id(admin)
        _incremental(
            admin,
            ConfigResource(
                "BROKER",
                node,
                incremental_configs=[
                    ConfigEntry(
                        "log.cleaner.threads", "2", incremental_operation=AlterConfigOpType.SET
                    )
                ],
            ),
        )
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
        configs = _describe(admin, ConfigResource("BROKER", _node_id(admin)))
    entry = configs["log.cleaner.threads"]
    assert (entry.value, entry.source) == ("2", ConfigSource.DYNAMIC_BROKER_CONFIG.value)
    assert configs["min.insync.replicas"].source == (
        ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    )


@pytest.mark.slow
def test_cluster_default_broker_configs_with_kafka_configs_tool(own_broker):
    bootstrap = own_broker.bootstrap_servers
    base = ["--bootstrap-server", bootstrap, "--entity-type", "brokers", "--entity-default"]
    done = kafka_tool("kafka-configs", *base, "--alter", "--add-config", "log.retention.ms=3600000")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Completed updating default config for brokers in the cluster." in done.stdout
    shown = kafka_tool("kafka-configs", *base, "--describe")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert (
        "log.retention.ms=3600000 sensitive=false "
        "synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3600000}"
    ) in shown.stdout
    # Per-broker keys need a broker id; read-only keys cannot change at all.
    for config, message in [
        (
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT",
            "Cannot update these configs at default cluster level, broker id must be "
            "specified: [listener.security.protocol.map]",
        ),
        ("num.partitions=3", "Cannot update these configs dynamically: [num.partitions]"),
    ]:
        refused = kafka_tool("kafka-configs", *base, "--alter", "--add-config", config)
        assert refused.returncode != 0
        assert refused.last_error() == (
            f"Caused by: org.apache.kafka.common.errors.InvalidRequestException: {message}"
        )
    removed = kafka_tool("kafka-configs", *base, "--alter", "--delete-config", "log.retention.ms")
    assert removed.returncode == 0, removed.stderr[-2000:]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    entry = _describe(admin, ConfigResource("BROKER", _node_id(admin)))["log.retention.ms"]
    assert entry.source == ConfigSource.DEFAULT_CONFIG.value


def _rows(configs: dict[str, ConfigEntry]) -> dict[str, tuple[object, ...]]:
    return {
        name: (
            e.value,
            e.source,
            e.is_read_only,
            e.is_default,
            e.is_sensitive,
            sorted((s.name, s.value, s.source) for s in e.synonyms.values()),
        )
        for name, e in configs.items()
    }


@pytest.mark.slow
def test_topic_config_descriptions_match_apache_kafka(bootstrap, reference_kafka):
    """Every topic config of a new topic (one set, the rest defaults) is described
    as Apache Kafka describes it: value, source, flags and synonyms."""
    described = {}
    for name, servers in [("streamtest", bootstrap), ("kafka", reference_kafka.bootstrap_servers)]:
        admin = AdminClient({"bootstrap.servers": servers})
        topic = _new_topic(admin, **{"retention.ms": "1000", "compression.type": "lz4"})
        described[name] = _rows(_describe(admin, ConfigResource("TOPIC", topic)))
    assert described["streamtest"] == described["kafka"]
