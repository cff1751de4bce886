"""The broker settings table: Kafka's names, defaults, validation and sources."""

from __future__ import annotations

import re

import pytest

from streamtest.broker.config import (
    SETTINGS,
    BrokerSettings,
    ConfigError,
    Source,
    parse_setting_line,
    tuned_defaults,
)


def test_kafka_defaults_and_typed_values():
    s = BrokerSettings()
    assert s["num.partitions"] == 1
    assert s["auto.create.topics.enable"] is True
    assert s["log.cleaner.min.cleanable.ratio"] == 0.5
    assert s["log.cleanup.policy"] == ["delete"]
    assert s["replica.lag.time.max.ms"] == 30_000
    assert s.source("num.partitions") == Source.DEFAULT_CONFIG


def test_tuned_defaults_are_few_and_explained():
    tuned = {k.name: k for k in tuned_defaults()}
    assert set(tuned) == {
        "group.initial.rebalance.delay.ms",
        "group.consumer.heartbeat.interval.ms",
        "group.consumer.min.heartbeat.interval.ms",
        "group.share.heartbeat.interval.ms",
        "group.share.min.heartbeat.interval.ms",
        "group.share.assignment.interval.ms",
        "queued.max.request.bytes",
    }
    assert all(k.why for k in tuned.values())
    assert BrokerSettings()["group.initial.rebalance.delay.ms"] == 0
    assert SETTINGS["group.initial.rebalance.delay.ms"].default == "3000"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"group.share.record.lock.duration.ms": 1000},
            "group.share.record.lock.duration.ms must be greater than or equal to "
            "group.share.min.record.lock.duration.ms",
        ),
        (
            {"group.share.delivery.count.limit": 9, "group.share.max.delivery.count.limit": 8},
            "group.share.delivery.count.limit must be less than or equal to "
            "group.share.max.delivery.count.limit",
        ),
        (
            {"num.partitions": 0},
            "Invalid value 0 for configuration num.partitions: Value must be at least 1",
        ),
        ({"num.partitions": "three"}, "Not a number of type INT"),
        ({"auto.create.topics.enable": "yes"}, "Expected value to be either true or false"),
        ({"compression.type": "brotli"}, "String must be one of"),
        (
            {"num.partitons": 1},
            "Unknown broker setting num.partitons (did you mean num.partitions?)",
        ),
    ],
)
def test_bad_settings_name_the_setting(settings, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        BrokerSettings(settings)


def test_topic_defaults_come_from_the_broker_synonyms():
    assert BrokerSettings().topic_default("retention.ms") == str(168 * 3_600_000)
    assert BrokerSettings({"log.retention.minutes": 5}).topic_default("retention.ms") == "300000"
    assert BrokerSettings({"log.retention.ms": -1}).topic_default("retention.ms") == "-1"
    assert BrokerSettings({"message.max.bytes": 2048}).topic_default("max.message.bytes") == "2048"
    assert BrokerSettings().topic_default("no.such") is None


def test_dynamic_settings_and_read_only_ones():
    s = BrokerSettings({"num.partitions": 3})
    assert s.source("num.partitions") == Source.STATIC_BROKER_CONFIG
    s.set_dynamic("log.retention.ms", 1000)
    assert s["log.retention.ms"] == 1000
    assert s.source("log.retention.ms") == Source.DYNAMIC_DEFAULT_BROKER_CONFIG
    s.set_dynamic("log.retention.ms", None)
    assert s["log.retention.ms"] is None
    with pytest.raises(ConfigError, match="Cannot update these configs dynamically"):
        s.set_dynamic("node.id", 3)


def test_setting_lines_from_the_command_line():
    assert parse_setting_line("log.retention.ms=60000") == ("log.retention.ms", "60000")
    assert parse_setting_line("broker.rack=a=b") == ("broker.rack", "a=b")
    for bad in ("no-equals", "=5", "bogus.key=1"):
        with pytest.raises(ConfigError):
            parse_setting_line(bad)


def test_tuned_defaults_can_be_turned_off_for_suites_written_against_stock_kafka():
    tuned, stock = BrokerSettings(), BrokerSettings({"streamtest.tuned.defaults": "false"})
    assert tuned["group.initial.rebalance.delay.ms"] == 0
    assert tuned.source("group.initial.rebalance.delay.ms") == Source.STATIC_BROKER_CONFIG
    assert stock["group.initial.rebalance.delay.ms"] == 3000
    assert stock.source("group.initial.rebalance.delay.ms") == Source.DEFAULT_CONFIG


def test_queued_max_request_bytes_must_hold_one_request():
    with pytest.raises(
        ConfigError,
        match="queued.max.request.bytes must be larger or equal to socket.request.max.bytes",
    ):
        BrokerSettings({"socket.request.max.bytes": 2000, "queued.max.request.bytes": 1000})
    # -1 (Kafka's default: no bound) and an explicit larger bound are fine.
    BrokerSettings({"socket.request.max.bytes": 2000, "queued.max.request.bytes": -1})
    BrokerSettings({"socket.request.max.bytes": 2000, "queued.max.request.bytes": 2000})


def test_max_connections_per_ip_of_zero_needs_overrides():
    with pytest.raises(ConfigError, match="can be set to zero only if"):
        BrokerSettings({"max.connections.per.ip": 0})
    s = BrokerSettings(
        {"max.connections.per.ip": 0, "max.connections.per.ip.overrides": "127.0.0.1:5"}
    )
    assert s["max.connections.per.ip"] == 0


def test_a_dynamic_change_that_contradicts_another_setting_changes_nothing():
    s = BrokerSettings()
    with pytest.raises(ConfigError, match="can be set to zero only if"):
        s.set_dynamic("max.connections.per.ip", 0)
    assert s["max.connections.per.ip"] == 2**31 - 1
    assert not s.is_set("max.connections.per.ip")


@pytest.mark.parametrize("bad", ["127.0.0.1", "127.0.0.1:x", ":5", "10.0.0.1:-1"])
def test_bad_ip_overrides_name_the_setting(bad):
    with pytest.raises(ConfigError, match="max.connections.per.ip.overrides"):
        BrokerSettings({"max.connections.per.ip.overrides": bad})
