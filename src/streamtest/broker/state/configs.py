"""Topic configuration: Kafka's defaults, validation and typed accessors.

Only configs that change broker behaviour here are interpreted
(``max.message.bytes``, ``message.timestamp.type``, ``cleanup.policy``,
``retention.ms``); every other known topic config is accepted, stored and
described back, as a client creating a real topic would expect.
"""

from __future__ import annotations

#: Kafka's topic config defaults (Apache Kafka's TopicConfig / LogConfig).
TOPIC_CONFIG_DEFAULTS: dict[str, str] = {
    "cleanup.policy": "delete",
    "compression.type": "producer",
    "delete.retention.ms": "86400000",
    "file.delete.delay.ms": "60000",
    "flush.messages": "9223372036854775807",
    "flush.ms": "9223372036854775807",
    "index.interval.bytes": "4096",
    "max.compaction.lag.ms": "9223372036854775807",
    "max.message.bytes": "1048588",
    "message.timestamp.after.max.ms": "9223372036854775807",
    "message.timestamp.before.max.ms": "9223372036854775807",
    "message.timestamp.difference.max.ms": "9223372036854775807",
    "message.timestamp.type": "CreateTime",
    "min.cleanable.dirty.ratio": "0.5",
    "min.compaction.lag.ms": "0",
    "min.insync.replicas": "1",
    "preallocate": "false",
    "retention.bytes": "-1",
    "retention.ms": "604800000",
    "segment.bytes": "1073741824",
    "segment.index.bytes": "10485760",
    "segment.jitter.ms": "0",
    "segment.ms": "604800000",
    "unclean.leader.election.enable": "false",
}

_ENUMS: dict[str, set[str]] = {
    "cleanup.policy": {"delete", "compact", "compact,delete", "delete,compact"},
    "compression.type": {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"},
    "message.timestamp.type": {"CreateTime", "LogAppendTime"},
    "preallocate": {"true", "false"},
    "unclean.leader.election.enable": {"true", "false"},
}

_NUMERIC = {
    k
    for k, v in TOPIC_CONFIG_DEFAULTS.items()
    if k not in _ENUMS and v.lstrip("-").replace(".", "", 1).isdigit()
}


def validate_topic_config(name: str, value: str | None) -> str | None:
    """Return an error message if ``name=value`` is not a valid topic config, else None."""
    if name not in TOPIC_CONFIG_DEFAULTS:
        return f"Unknown topic config name: {name}"
    if value is None:
        return None
    if name in _ENUMS and value not in _ENUMS[name]:
        return f"Invalid value {value} for configuration {name}"
    if name in _NUMERIC:
        try:
            float(value)
        except ValueError:
            return f"Invalid value {value} for configuration {name}: Not a number"
    return None
