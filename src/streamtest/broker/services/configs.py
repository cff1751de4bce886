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
    CLUSTER_DEFAULT,
    LONG_MAX,
    SETTINGS,
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
        _k("errors.deadletterqueue.group.enable", BOOL, "false"),
        _k("file.delete.delay.ms", LONG, "60000", at_least(0)),
        _k("flush.messages", LONG, str(LONG_MAX), at_least(1)),
        _k("flush.ms", LONG, str(LONG_MAX), at_least(0)),
        _k("follower.replication.throttled.replicas", LST, ""),
        _k("index.interval.bytes", INT, "4096", at_least(0)),
        _k("leader.replication.throttled.replicas", LST, ""),
        _k("local.retention.bytes", LONG, "-2", at_least(-2)),
        _k("local.retention.ms", LONG, "-2", at_least(-2)),
        _k("max.compaction.lag.ms", LONG, str(LONG_MAX), at_least(1)),
        _k("max.decompressed.message.bytes", INT, "2147483639", at_least(0)),
        _k("max.message.bytes", INT, "1048588", at_least(0)),
        _k("message.timestamp.after.max.ms", LONG, "3600000", at_least(0)),
        _k("message.timestamp.before.max.ms", LONG, str(LONG_MAX), at_least(0)),
        _k("message.timestamp.type", STR, "CreateTime", one_of("CreateTime", "LogAppendTime")),
        _k("min.cleanable.dirty.ratio", DBL, "0.5", between(0, 1)),
        _k("min.compaction.lag.ms", LONG, "0", at_least(0)),
        _k("min.insync.replicas", INT, "1", at_least(1)),
        _k("preallocate", BOOL, "false"),
        _k("remote.copy.lag.bytes", LONG, "-1", at_least(-1)),
        _k("remote.copy.lag.ms", LONG, "0", at_least(0)),
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

    def broker_synonyms(self, name: str) -> list[tuple[str, str, Source]]:
        """Return the levels of the broker setting topic config ``name`` defaults
        from, highest first (Kafka 4.x lists its first synonym only: the
        ``log.retention.hours`` behind ``log.retention.ms`` is not listed)."""
        names = TOPIC_DEFAULTS_FROM_BROKER.get(name, ())
        if not names or names[0] not in SETTINGS:
            return []
        return self.settings.synonyms(names[0])

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
            # As Kafka lists them: the topic's own value, then every level of the
            # broker setting it defaults from, under the broker setting's name.
            rows = entry["synonyms"]
            if is_set:
                rows.append(
                    {"name": name, "value": topic.configs[name], "source": DYNAMIC_TOPIC_CONFIG}
                )
            rows += [
                {"name": n, "value": v, "source": int(src)}
                for n, v, src in defaults.broker_synonyms(name)
            ]
        out.append(entry)
    return out


def broker_config_entries(
    settings: BrokerSettings,
    keys: Iterable[str] | None,
    synonyms: bool = False,
    node_values: dict[str, str] | None = None,
    node_id: int | None = None,
) -> list[dict[str, Any]]:
    """Describe the broker settings (all, or just ``keys``) as DescribeConfigs does,
    for node ``node_id`` (``None``: the cluster-wide default level); ``node_values``
    are that node's own values (node.id, listeners, log.dirs), static broker configs
    to a client."""
    if node_id is None:
        return _default_level_entries(settings, keys, synonyms)
    out = []
    node_values = node_values or {}
    for view in settings.describe(keys, node_values, node_id):
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
        if synonyms:
            rows = [
                {"name": n, "value": None if view.sensitive else v, "source": int(src)}
                for n, v, src in settings.synonyms(view.name, node_id)
            ]
            own = node_values.get(view.name)
            if own is not None:
                # The node's own value is its static config; it sits above the default.
                rows = [r for r in rows if r["source"] != Source.STATIC_BROKER_CONFIG]
                at = next(
                    (i for i, r in enumerate(rows) if r["source"] == Source.DEFAULT_CONFIG),
                    len(rows),
                )
                rows.insert(at, {"name": view.name, "value": own,
                                 "source": int(Source.STATIC_BROKER_CONFIG)})
            entry["synonyms"] = rows
        out.append(entry)
    return out


def _default_level_entries(
    settings: BrokerSettings, keys: Iterable[str] | None, synonyms: bool
) -> list[dict[str, Any]]:
    """Describe the cluster-wide level (BROKER resource ``""``) as Kafka does: only
    the values set there (source 3), each its own only synonym."""
    wanted = None if keys is None else set(keys)
    out = []
    for name, value in settings.dynamic_values(CLUSTER_DEFAULT).items():
        if wanted is not None and name not in wanted:
            continue
        key = SETTINGS.get(name)
        sensitive = key is not None and key.sensitive
        shown = None if sensitive else value
        source = int(Source.DYNAMIC_DEFAULT_BROKER_CONFIG)
        out.append(
            {
                "name": name,
                "value": shown,
                "read_only": False,
                "is_default": False,
                "config_source": source,
                "is_sensitive": sensitive,
                "synonyms": [{"name": name, "value": shown, "source": source}] if synonyms else [],
                "config_type": key.type.value if key is not None else 0,
                "documentation": None,
            }
        )
    return out
