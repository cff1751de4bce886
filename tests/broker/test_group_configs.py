"""The GROUP config resource (KIP-848, KIP-932) through confluent-kafka's
AdminClient, and the coordinators honouring per-group values. Messages are those
Apache Kafka 4.4 answers."""

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
    ResourceType,
)

from streamtest import EmbeddedKafka
from streamtest.broker.cluster import Cluster
from streamtest.broker.groups.consumer import HeartbeatRequest
from streamtest.broker.services.group_configs import (
    ConfigOp,
    GroupConfigError,
    parse_iso_duration_ms,
)

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def admin() -> Iterator[AdminClient]:
    with EmbeddedKafka() as kafka:
        yield AdminClient({"bootstrap.servers": kafka.bootstrap_servers})


def alter(admin: AdminClient, group: str, *entries: tuple[str, str | None, AlterConfigOpType]):
    res = ConfigResource(
        ResourceType.GROUP,
        group,
        incremental_configs=[ConfigEntry(n, v, incremental_operation=op) for n, v, op in entries],
    )
    return admin.incremental_alter_configs([res])[res].result()


def describe(admin: AdminClient, group: str) -> dict:
    res = ConfigResource(ResourceType.GROUP, group)
    return admin.describe_configs([res])[res].result()


SET, DELETE, APPEND = AlterConfigOpType.SET, AlterConfigOpType.DELETE, AlterConfigOpType.APPEND


def test_a_group_has_kafkas_defaults_with_the_broker_settings_as_synonyms(
    admin: AdminClient,
) -> None:
    configs = describe(admin, f"g-{uuid.uuid4().hex[:6]}")
    assert configs["share.auto.offset.reset"].value == "latest"
    assert configs["share.isolation.level"].value == "read_uncommitted"
    assert configs["share.record.lock.duration.ms"].value == "30000"
    assert configs["share.delivery.count.limit"].value == "5"
    assert configs["consumer.session.timeout.ms"].value == "45000"
    lock = configs["share.record.lock.duration.ms"]
    assert lock.is_default and not lock.is_read_only
    assert [s.name for s in lock.synonyms.values()] == ["group.share.record.lock.duration.ms"]
    # A value streamtest tunes for tests shows as a broker setting (source 4).
    assert configs["share.heartbeat.interval.ms"].value == "1000"
    assert configs["share.heartbeat.interval.ms"].source == 4


def test_setting_and_deleting_group_configs(admin: AdminClient) -> None:
    group = f"g-{uuid.uuid4().hex[:6]}"
    alter(
        admin,
        group,
        ("share.auto.offset.reset", "earliest", SET),
        ("share.record.lock.duration.ms", "15000", SET),
    )
    configs = describe(admin, group)
    assert configs["share.auto.offset.reset"].value == "earliest"
    assert configs["share.auto.offset.reset"].source == 8  # GROUP_CONFIG
    assert configs["share.record.lock.duration.ms"].value == "15000"
    alter(admin, group, ("share.auto.offset.reset", None, DELETE))
    assert describe(admin, group)["share.auto.offset.reset"].value == "latest"
    alter(admin, group, ("share.auto.offset.reset", "by_duration:P1DT2H", SET))
    assert describe(admin, group)["share.auto.offset.reset"].value == "by_duration:P1DT2H"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (("bogus.name", "1", SET), "Unknown group config name: bogus.name"),
        (
            ("share.record.lock.duration.ms", "100", SET),
            "Invalid value 100 for configuration share.record.lock.duration.ms: "
            "Value must be at least 1000",
        ),
        (
            ("share.record.lock.duration.ms", "999999", SET),
            "share.record.lock.duration.ms must be in the range 15000 to 60000 inclusive.",
        ),
        (
            ("consumer.session.timeout.ms", "1000", SET),
            "consumer.session.timeout.ms must be in the range 45000 to 60000 inclusive.",
        ),
        (
            ("share.auto.offset.reset", "EARLIEST", SET),
            "Invalid value EARLIEST for configuration share.auto.offset.reset: Invalid value "
            "`EARLIEST` for configuration share.auto.offset.reset. The value must be either "
            "'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'.",
        ),
        (
            ("share.auto.offset.reset", "x", APPEND),
            "Can't APPEND to key share.auto.offset.reset because its type is not LIST.",
        ),
        (
            ("share.renew.acknowledge.enable", "maybe", SET),
            "Invalid value maybe for configuration share.renew.acknowledge.enable: Expected "
            "value to be either true or false",
        ),
    ],
)
def test_bad_group_configs_get_kafkas_messages(
    admin: AdminClient, entry: tuple, message: str
) -> None:
    group = f"g-{uuid.uuid4().hex[:6]}"
    with pytest.raises(KafkaException) as err:
        alter(admin, group, entry)
    assert err.value.args[0].str() == message
    assert describe(admin, group)["share.auto.offset.reset"].value == "latest"  # unchanged


def test_the_legacy_alter_configs_replaces_a_groups_whole_set(admin: AdminClient) -> None:
    group = f"g-{uuid.uuid4().hex[:6]}"
    alter(
        admin,
        group,
        ("share.auto.offset.reset", "earliest", SET),
        ("share.delivery.count.limit", "3", SET),
    )
    res = ConfigResource(ResourceType.GROUP, group, set_config={"share.delivery.count.limit": "7"})
    admin.alter_configs([res])[res].result()
    configs = describe(admin, group)
    assert configs["share.delivery.count.limit"].value == "7"
    assert configs["share.auto.offset.reset"].value == "latest"


def test_the_kip848_coordinator_honours_the_groups_timeouts() -> None:
    cluster = Cluster(
        clock="manual",
        settings={
            "group.consumer.min.session.timeout.ms": 100,
            "group.consumer.min.heartbeat.interval.ms": 50,
        },
    )
    cluster.create_topic("t", 1)
    cluster.group_configs.alter(
        "g",
        [
            ConfigOp("consumer.session.timeout.ms", 0, "500"),
            ConfigOp("consumer.heartbeat.interval.ms", 0, "50"),
        ],
    )
    r = cluster.groups.consumer_group_heartbeat(
        HeartbeatRequest(
            "g", "m", 0, rebalance_timeout_ms=30_000, subscribed_topic_names=["t"], owned={}
        )
    )
    assert r["heartbeat_interval"] == 50
    cluster.clock.advance(0.4)  # type: ignore[attr-defined]
    assert "m" in cluster.groups.group("g").members  # type: ignore[union-attr]
    cluster.clock.advance(0.2)  # type: ignore[attr-defined]
    assert cluster.groups.group("g").is_empty  # type: ignore[union-attr]


def test_group_configs_are_checked_together() -> None:
    cluster = Cluster(
        settings={
            "group.share.max.session.timeout.ms": 80_000,
            "group.share.max.heartbeat.interval.ms": 60_000,
        }
    )
    with pytest.raises(GroupConfigError) as err:
        cluster.group_configs.alter(
            "g",
            [
                ConfigOp("share.session.timeout.ms", 0, "50000"),
                ConfigOp("share.heartbeat.interval.ms", 0, "50000"),
            ],
        )
    assert (
        str(err.value)
        == "share.session.timeout.ms must be greater than share.heartbeat.interval.ms"
    )
    with pytest.raises(GroupConfigError, match="Default group resources are not allowed."):
        cluster.group_configs.alter("", [])
    with pytest.raises(GroupConfigError, match="duplicate config keys"):
        cluster.group_configs.alter("g", [ConfigOp("share.session.timeout.ms", 0, "50000")] * 2)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("PT1H", 3_600_000),
        ("P1DT2H3M4.5S", 93_784_500),
        ("pt0.25s", 250),
        ("P2D", 172_800_000),
        ("PT", None),
        ("P", None),
        ("1H", None),
        ("PT1X", None),
    ],
)
def test_iso_durations_read_as_javas_duration_parse(text: str, ms: int | None) -> None:
    assert parse_iso_duration_ms(text) == ms
