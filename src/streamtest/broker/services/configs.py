"""Topic configs: Kafka's table, validation, broker-side defaults and DescribeConfigs rows.

Every topic config Kafka 4.x knows is accepted, stored and described back, as a
client creating a real topic expects; the ones that change behaviour here are
read through :meth:`~..topics.Topic.config`. A topic config that is not set on
the topic takes its default from the broker setting that Kafka names as its
synonym (``log.retention.hours`` for ``retention.ms``; see
``config.TOPIC_DEFAULTS_FROM_BROKER``), and DescribeConfigs reports where each
value comes from, as Kafka does (KIP-226 sources and synonyms).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..config import (
    LONG_MAX,
    TOPIC_DEFAULTS_FROM_BROKER,
    BrokerSettings,
    ConfigError,
    ConfigKey,
    ConfigType,
    Source,
    at_least,
    between,
    each_of,
    one_of,
    parse,
)
from ..topics import Topic

BOOL, STR, INT, LONG, DBL, LST = (
    ConfigType.BOOLEAN,
    ConfigType.STRING,
    ConfigType.INT,
    ConfigType.LONG,
    ConfigType.DOUBLE,
    ConfigType.LIST,
)

#: DescribeConfigs ``config_source`` of a value set on the topic itself.
DYNAMIC_TOPIC_CONFIG = 1


def _k(name: str, type_: ConfigType, default: str, validator: Any = None) -> ConfigKey:
    return ConfigKey(name, type_, default, "", validator)


#: Kafka 4.x's topic configs (``TopicConfig`` / ``LogConfig``) with their defaults
#: when the broker sets nothing.
TOPIC_CONFIGS: dict[str, ConfigKey] = {
    k.name: k
    for k in (
        # An empty list is allowed since Kafka 4.0 (KIP-1071 era: "cleanup.policy=" means
        # neither deletion nor compaction).
        _k("cleanup.policy", LST, "delete", each_of("compact", "delete")),
        _k(
            "compression.gzip.level",
            INT,
            "-1",
            lambda v: None if v == -1 or 1 <= v <= 9 else "Value must be between 1 and 9, or -1",
        ),
        _k("compression.lz4.level", INT, "9", between(1, 17)),
        _k(
            "compression.type",
            STR,
            "producer",
            one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
        ),
        _k("compression.zstd.level", INT, "3", between(-131072, 22)),
        _k("delete.retention.ms", LONG, "86400000", at_least(0)),
        _k("file.delete.delay.ms", LONG, "60000", at_least(0)),
        _k("flush.messages", LONG, str(LONG_MAX), at_least(1)),
        _k("flush.ms", LONG, str(LONG_MAX), at_least(0)),
        _k("follower.replication.throttled.replicas", LST, ""),
        _k("index.interval.bytes", INT, "4096", at_least(0)),
        _k("leader.replication.throttled.replicas", LST, ""),
        _k("local.retention.bytes", LONG, "-2", at_least(-2)),
        _k("local.retention.ms", LONG, "-2", at_least(-2)),
        _k("max.compaction.lag.ms", LONG, str(LONG_MAX), at_least(1)),
        _k("max.message.bytes", INT, "1048588", at_least(0)),
        _k("message.timestamp.after.max.ms", LONG, "3600000", at_least(0)),
        _k("message.timestamp.before.max.ms", LONG, str(LONG_MAX), at_least(0)),
        _k("message.timestamp.type", STR, "CreateTime", one_of("CreateTime", "LogAppendTime")),
        _k("min.cleanable.dirty.ratio", DBL, "0.5", between(0, 1)),
        _k("min.compaction.lag.ms", LONG, "0", at_least(0)),
        _k("min.insync.replicas", INT, "1", at_least(1)),
        _k("preallocate", BOOL, "false"),
        _k("remote.log.copy.disable", BOOL, "false"),
        _k("remote.log.delete.on.disable", BOOL, "false"),
        _k("remote.storage.enable", BOOL, "false"),
        _k("retention.bytes", LONG, "-1"),
        _k("retention.ms", LONG, "604800000", at_least(-1)),
        _k("segment.bytes", INT, "1073741824", at_least(14)),
        _k("segment.index.bytes", INT, "10485760", at_least(4)),
        _k("segment.jitter.ms", LONG, "0", at_least(0)),
        _k("segment.ms", LONG, "604800000", at_least(1)),
        _k("unclean.leader.election.enable", BOOL, "false"),
    )
}


def validate_topic_config(name: str, value: str | None) -> str | None:
    """Return Kafka's message if ``name=value`` is not a valid topic config, else None."""
    key = TOPIC_CONFIGS.get(name)
    if key is None:
        return f"Unknown topic config name: {name}"
    if value is None:
        return None
    try:
        parse(key, value)
    except ConfigError as exc:
        return str(exc)
    return None


class TopicDefaults:
    """Resolves a topic config that is not set on the topic: from the broker
    setting Kafka names as its synonym, else Kafka's topic default.

    Args:
        settings: the cluster's broker settings.
    """

    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings

    def __call__(self, name: str) -> str:
        """Return the default value of topic config ``name``.

        Raises:
            KeyError: not a topic config.
        """
        from_broker = self.settings.topic_default(name)
        if from_broker is not None:
            return from_broker
        return TOPIC_CONFIGS[name].default or ""

    def source(self, name: str) -> tuple[Source, str | None]:
        """Return where the default of ``name`` comes from, and that broker setting."""
        for broker_name in TOPIC_DEFAULTS_FROM_BROKER.get(name, ()):
            if self.settings.is_set(broker_name) or (
                self.settings.key(broker_name).test_default is not None
            ):
                return self.settings.source(broker_name), broker_name
        return Source.DEFAULT_CONFIG, None


def topic_config_entries(
    topic: Topic, keys: Iterable[str] | None, synonyms: bool = False
) -> list[dict[str, Any]]:
    """Describe ``topic``'s configs (all, or just ``keys``) as DescribeConfigs does."""
    defaults: TopicDefaults = topic.defaults
    wanted = None if keys is None else set(keys)
    out = []
    for name, key in TOPIC_CONFIGS.items():
        if wanted is not None and name not in wanted:
            continue
        is_set = name in topic.configs
        default_source, broker_name = defaults.source(name)
        entry: dict[str, Any] = {
            "name": name,
            "value": topic.config(name),
            "read_only": False,
            "is_default": not is_set and default_source == Source.DEFAULT_CONFIG,
            "config_source": DYNAMIC_TOPIC_CONFIG if is_set else int(default_source),
            "is_sensitive": False,
            "synonyms": [],
            "config_type": key.type.value,
            "documentation": None,
        }
        if synonyms:
            rows = entry["synonyms"]
            if is_set:
                rows.append(
                    {"name": name, "value": topic.configs[name], "source": DYNAMIC_TOPIC_CONFIG}
                )
            if broker_name is not None:
                rows.append(
                    {
                        "name": broker_name,
                        "value": defaults.settings.raw(broker_name),
                        "source": int(default_source),
                    }
                )
            rows.append({"name": name, "value": key.default, "source": Source.DEFAULT_CONFIG})
        out.append(entry)
    return out


def broker_config_entries(
    settings: BrokerSettings,
    keys: Iterable[str] | None,
    synonyms: bool = False,
    node_values: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Describe the broker settings (all, or just ``keys``) as DescribeConfigs does;
    ``node_values`` are one node's own values (node.id, listeners, log.dirs)."""
    out = []
    for view in settings.describe(keys, node_values):
        entry: dict[str, Any] = {
            "name": view.name,
            "value": view.value,
            "read_only": view.read_only,
            "is_default": view.source == Source.DEFAULT_CONFIG,
            "config_source": int(view.source),
            "is_sensitive": view.sensitive,
            "synonyms": [],
            "config_type": view.type.value,
            "documentation": None,
        }
        if synonyms and view.value is not None:
            entry["synonyms"].append(
                {"name": view.name, "value": view.value, "source": int(view.source)}
            )
        out.append(entry)
    return out
