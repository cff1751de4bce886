"""Log settings: one partition log's topic configs, and the log manager's broker settings.

A :class:`LogConfig` is built as Kafka's ``LogConfig`` is: a topic config wins, else
its broker synonym (``log.retention.hours`` for ``retention.ms``...), else Kafka's
default. Values are validated with Kafka's rules and error texts, so a bad value
can be answered with ``INVALID_CONFIG`` and Kafka's own message.

:class:`LogManagerConfig` holds the broker-wide settings of the log manager and the
cleaner (``log.retention.check.interval.ms``, ``log.cleaner.*``...).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


class InvalidConfig(ValueError):
    """A log setting has an invalid value; the message is Kafka's text for it."""


@runtime_checkable
class SettingsSource(Protocol):
    """The broker's settings table (``broker.config.BrokerSettings``): what the log
    engine asks of it."""

    def raw(self, name: str) -> str | None:
        """Return a setting's effective value as a string (``None``: unset)."""
        ...

    def topic_default(self, topic_config: str) -> str | None:
        """Return the broker-side default of a topic config, synonyms resolved."""
        ...


#: Broker settings: a plain mapping of Kafka names to values, or the settings table.
BrokerSettingsLike = Mapping[str, str] | SettingsSource


def _raw_setting(settings: Any, name: str) -> str | None:
    if isinstance(settings, SettingsSource):
        try:
            value = settings.raw(name)
        except (KeyError, ValueError):  # a name the table does not know
            return None
        return None if value is None else str(value)
    value = settings.get(name)
    return None if value is None else str(value)


@dataclass(frozen=True)
class _Def:
    kind: str  # "int", "long", "double", "policy", "enum", "bool"
    default: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


#: Topic-level log configs: Kafka's names, types, defaults and validators.
TOPIC_DEFS: dict[str, _Def] = {
    "segment.bytes": _Def("int", "1073741824", 14),
    "segment.ms": _Def("long", "604800000", 1),
    "segment.jitter.ms": _Def("long", "0", 0),
    "segment.index.bytes": _Def("int", "10485760", 4),
    "index.interval.bytes": _Def("int", "4096", 0),
    "flush.messages": _Def("long", str(LONG_MAX), 1),
    "flush.ms": _Def("long", str(LONG_MAX), 0),
    "retention.bytes": _Def("long", "-1"),
    "retention.ms": _Def("long", "604800000", -1),
    "cleanup.policy": _Def("policy", "delete", choices=("compact", "delete")),
    "min.cleanable.dirty.ratio": _Def("double", "0.5", 0, 1),
    "min.compaction.lag.ms": _Def("long", "0", 0),
    "max.compaction.lag.ms": _Def("long", str(LONG_MAX), 1),
    "delete.retention.ms": _Def("long", "86400000", 0),
    "file.delete.delay.ms": _Def("long", "60000", 0),
    "max.message.bytes": _Def("int", "1048588", 0),
    "message.timestamp.type": _Def("enum", "CreateTime", choices=("CreateTime", "LogAppendTime")),
    "preallocate": _Def("bool", "false"),
}

#: Broker settings that give a topic config its default, in order of precedence,
#: with the factor that converts them to the topic config's unit (Kafka's
#: ``ServerTopicConfigSynonyms``).
SYNONYMS: dict[str, tuple[tuple[str, int], ...]] = {
    "segment.bytes": (("log.segment.bytes", 1),),
    "segment.ms": (("log.roll.ms", 1), ("log.roll.hours", 3_600_000)),
    "segment.jitter.ms": (("log.roll.jitter.ms", 1), ("log.roll.jitter.hours", 3_600_000)),
    "segment.index.bytes": (("log.index.size.max.bytes", 1),),
    "index.interval.bytes": (("log.index.interval.bytes", 1),),
    "flush.messages": (("log.flush.interval.messages", 1),),
    "flush.ms": (("log.flush.interval.ms", 1), ("log.flush.scheduler.interval.ms", 1)),
    "retention.bytes": (("log.retention.bytes", 1),),
    "retention.ms": (
        ("log.retention.ms", 1),
        ("log.retention.minutes", 60_000),
        ("log.retention.hours", 3_600_000),
    ),
    "cleanup.policy": (("log.cleanup.policy", 1),),
    "min.cleanable.dirty.ratio": (("log.cleaner.min.cleanable.ratio", 1),),
    "min.compaction.lag.ms": (("log.cleaner.min.compaction.lag.ms", 1),),
    "max.compaction.lag.ms": (("log.cleaner.max.compaction.lag.ms", 1),),
    "delete.retention.ms": (("log.cleaner.delete.retention.ms", 1),),
    "file.delete.delay.ms": (("log.segment.delete.delay.ms", 1),),
    "max.message.bytes": (("message.max.bytes", 1),),
    "message.timestamp.type": (("log.message.timestamp.type", 1),),
    "preallocate": (("log.preallocate", 1),),
}

#: Broker-wide log manager and cleaner settings (Kafka's names and defaults).
MANAGER_DEFS: dict[str, _Def] = {
    "log.retention.check.interval.ms": _Def("long", "300000", 1),
    "log.flush.scheduler.interval.ms": _Def("long", str(LONG_MAX), 0),
    "log.flush.offset.checkpoint.interval.ms": _Def("int", "60000", 0),
    "log.flush.start.offset.checkpoint.interval.ms": _Def("int", "60000", 0),
    "log.cleaner.enable": _Def("bool", "true"),
    "log.cleaner.backoff.ms": _Def("long", "15000", 0),
    "log.cleaner.dedupe.buffer.size": _Def("long", "134217728"),
    "log.cleaner.io.buffer.load.factor": _Def("double", "0.9"),
    "log.cleaner.threads": _Def("int", "1", 0),
    "replica.high.watermark.checkpoint.interval.ms": _Def("long", "5000", 1),
}


def _parse(name: str, d: _Def, raw: object, factor: int = 1) -> object:
    text = str(raw).strip()
    bad = f"Invalid value {raw} for configuration {name}"
    if d.kind in ("int", "long"):
        try:
            value: object = int(text) * factor
        except ValueError:
            raise InvalidConfig(f"{bad}: Not a number of type {d.kind.upper()}") from None
        limit = INT_MAX if d.kind == "int" else LONG_MAX
        if factor > 1:
            # Hours or minutes converted to ms: a negative retention means "forever"
            # (-1), and a huge one saturates, as KafkaConfig computes it.
            value = -1 if value < 0 else min(value, limit)  # type: ignore[operator]
        elif not -limit - 1 <= value <= limit:  # type: ignore[operator]
            raise InvalidConfig(f"{bad}: Not a number of type {d.kind.upper()}")
    elif d.kind == "double":
        try:
            value = float(text)
        except ValueError:
            raise InvalidConfig(f"{bad}: Not a number of type DOUBLE") from None
    elif d.kind == "bool":
        if text.lower() not in ("true", "false"):
            raise InvalidConfig(f"{bad}: Expected value to be either true or false")
        value = text.lower() == "true"
    elif d.kind == "policy":
        items = tuple(p.strip() for p in text.split(",") if p.strip())
        for item in items:
            if item not in d.choices:
                raise InvalidConfig(f"{bad}: String must be one of: {', '.join(d.choices)}")
        value = frozenset(items)
    else:
        if text not in d.choices:
            raise InvalidConfig(f"{bad}: String must be one of: {', '.join(d.choices)}")
        value = text
    if d.minimum is not None and value < d.minimum:  # type: ignore[operator]
        raise InvalidConfig(f"{bad}: Value must be at least {_num(d.minimum)}")
    if d.maximum is not None and value > d.maximum:  # type: ignore[operator]
        raise InvalidConfig(f"{bad}: Value must be no more than {_num(d.maximum)}")
    return value


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def validate_log_config(name: str, value: str) -> None:
    """Check one topic config value with Kafka's validator.

    Raises:
        InvalidConfig: the value is invalid (Kafka's message), or the name is not a
            log config handled here.
    """
    d = TOPIC_DEFS.get(name)
    if d is None:
        raise InvalidConfig(f"Unknown log config name: {name}")
    _parse(name, d, value)


@dataclass(frozen=True)
class LogConfig:
    """The settings of one partition log, in Kafka's units (bytes, milliseconds).

    Build it with :meth:`from_settings`; the defaults here are Kafka's.
    """

    segment_bytes: int = 1073741824
    segment_ms: int = 604800000
    segment_jitter_ms: int = 0
    segment_index_bytes: int = 10485760
    index_interval_bytes: int = 4096
    flush_messages: int = LONG_MAX
    flush_ms: int = LONG_MAX
    retention_bytes: int = -1
    retention_ms: int = 604800000
    cleanup_policy: frozenset[str] = frozenset({"delete"})
    min_cleanable_dirty_ratio: float = 0.5
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = LONG_MAX
    delete_retention_ms: int = 86400000
    file_delete_delay_ms: int = 60000
    max_message_bytes: int = 1048588
    message_timestamp_type: str = "CreateTime"
    preallocate: bool = False

    @classmethod
    def from_settings(
        cls,
        topic_configs: Mapping[str, str | None] | None = None,
        broker_settings: BrokerSettingsLike | None = None,
    ) -> LogConfig:
        """Return the config of a topic's logs.

        Args:
            topic_configs: the topic's own configs (Kafka names; ``None`` values and
                configs that are not log configs are ignored).
            broker_settings: broker settings, whose ``log.*`` synonyms give the
                defaults (``log.retention.hours``...): a mapping of Kafka names, or
                the broker's settings table (its ``topic_default`` is used, so its
                tuned test defaults apply).

        Raises:
            InvalidConfig: a value is invalid, or ``min.compaction.lag.ms`` exceeds
                ``max.compaction.lag.ms`` (Kafka's messages).
        """
        topic_configs = topic_configs or {}
        broker_settings = broker_settings if broker_settings is not None else {}
        table = broker_settings if isinstance(broker_settings, SettingsSource) else None
        values: dict[str, object] = {}
        for name, d in TOPIC_DEFS.items():
            raw = topic_configs.get(name)
            if raw is not None:
                values[name] = _parse(name, d, raw)
                continue
            if table is not None:
                default = table.topic_default(name)
                values[name] = _parse(name, d, d.default if default is None else default)
                continue
            for synonym, factor in SYNONYMS.get(name, ()):
                value = _raw_setting(broker_settings, synonym)
                if value is not None:
                    values[name] = _parse(synonym, d, value, factor)
                    break
            else:
                values[name] = _parse(name, d, d.default)
        kwargs = {f.name: values[f.name.replace("_", ".")] for f in fields(cls)}
        config = cls(**kwargs)  # type: ignore[arg-type]
        if config.min_compaction_lag_ms > config.max_compaction_lag_ms:
            raise InvalidConfig(
                "conflict topic config setting min.compaction.lag.ms "
                f"({config.min_compaction_lag_ms}) > max.compaction.lag.ms "
                f"({config.max_compaction_lag_ms})"
            )
        return config

    @property
    def compact(self) -> bool:
        """Return whether ``cleanup.policy`` includes ``compact``."""
        return "compact" in self.cleanup_policy

    @property
    def delete(self) -> bool:
        """Return whether ``cleanup.policy`` includes ``delete``."""
        return "delete" in self.cleanup_policy

    @property
    def max_segment_ms(self) -> int:
        """Return the age at which a segment rolls: ``segment.ms``, or
        ``max.compaction.lag.ms`` when smaller on a compacted topic (KIP-354)."""
        if self.compact and self.max_compaction_lag_ms > 0:
            return min(self.max_compaction_lag_ms, self.segment_ms)
        return self.segment_ms

    @property
    def max_index_entries(self) -> int:
        """Return how many offset index entries fit in ``segment.index.bytes``."""
        return self.segment_index_bytes // 8

    def random_segment_jitter(self, rng: random.Random) -> int:
        """Return a new segment's roll jitter, as Kafka draws it: uniform in
        ``[0, min(segment.jitter.ms, segment.ms))``."""
        if self.segment_jitter_ms <= 0:
            return 0
        return rng.randrange(min(self.segment_jitter_ms, self.segment_ms))


@dataclass(frozen=True)
class LogManagerConfig:
    """The log manager's and cleaner's broker settings (Kafka's defaults)."""

    retention_check_interval_ms: int = 300000
    flush_scheduler_interval_ms: int = LONG_MAX
    flush_offset_checkpoint_interval_ms: int = 60000
    flush_start_offset_checkpoint_interval_ms: int = 60000
    cleaner_enable: bool = True
    cleaner_backoff_ms: int = 15000
    cleaner_dedupe_buffer_size: int = 134217728
    cleaner_io_buffer_load_factor: float = 0.9
    cleaner_threads: int = 1
    high_watermark_checkpoint_interval_ms: int = 5000

    @classmethod
    def from_settings(cls, broker_settings: BrokerSettingsLike | None = None) -> LogManagerConfig:
        """Return the manager config from broker settings (Kafka names).

        Raises:
            InvalidConfig: a value is invalid.
        """
        broker_settings = broker_settings if broker_settings is not None else {}
        kwargs = {}
        for name, d in MANAGER_DEFS.items():
            raw = _raw_setting(broker_settings, name)
            value = _parse(name, d, d.default if raw is None else raw)
            key = name.removeprefix("log.").removeprefix("replica.").replace(".", "_")
            kwargs[key] = value
        return cls(**kwargs)  # type: ignore[arg-type]
