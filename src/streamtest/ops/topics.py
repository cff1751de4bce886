"""Topic administration through confluent-kafka's AdminClient, as ``kafka-topics.sh``
and ``kafka-configs.sh --entity-type topics`` do it, so it works against any Kafka.

* :func:`create_topic`, :func:`alter_partitions`, :func:`delete_topic`;
* :func:`list_topics` and :func:`describe_topics` (leader, replicas and ISR as the
  cluster reports them, plus the configs that differ from the defaults);
* :func:`describe_topic_configs` and :func:`alter_topic_configs` (incremental: set
  and delete single keys, KIP-339).

Like ``kafka-topics.sh``, ``--topic`` for list and describe is a regular expression
matched against whole names (``orders\\..*``); the operations that change or
delete a topic take an exact name, so a ``.`` in a name never selects more.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
)

from .client import ClientConfig, check_reachable, kafka_error_message
from .errors import InvalidInputError, OpsError, UnknownTopicError
from .groups import wait

#: Topics Kafka itself treats as internal (``org.apache.kafka.common.internals.Topic``).
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state", "__share_group_state"})

#: Kafka's all-zero topic id, which ``kafka-topics.sh`` does not print.
_ZERO_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAA"


def is_internal(topic: str) -> bool:
    """Return whether ``topic`` is one of Kafka's internal topics."""
    return topic in INTERNAL_TOPICS


@dataclass(frozen=True)
class PartitionInfo:
    """One partition as the cluster reports it; ``leader`` is ``None`` when it has none."""

    partition: int
    leader: int | None
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return the stable JSON form: partition, leader, replicas, isr."""
        return {
            "partition": self.partition,
            "leader": self.leader,
            "replicas": list(self.replicas),
            "isr": list(self.isr),
        }


@dataclass(frozen=True)
class TopicInfo:
    """A topic's description: partitions and the configs that are not defaults."""

    name: str
    topic_id: str | None
    partitions: tuple[PartitionInfo, ...]
    configs: Mapping[str, str] = field(default_factory=dict)
    min_insync_replicas: int = 1

    @property
    def partition_count(self) -> int:
        """Return the number of partitions."""
        return len(self.partitions)

    @property
    def replication_factor(self) -> int:
        """Return the replica count of the first partition (as ``kafka-topics.sh``)."""
        return len(self.partitions[0].replicas) if self.partitions else 0

    @property
    def internal(self) -> bool:
        """Return whether this is one of Kafka's internal topics."""
        return is_internal(self.name)

    def summary_line(self) -> str:
        """Return ``kafka-topics.sh --describe``'s topic line (tab-separated)."""
        parts = [f"Topic: {self.name}"]
        if self.topic_id and self.topic_id != _ZERO_TOPIC_ID:
            parts.append(f"TopicId: {self.topic_id}")
        parts += [
            f"PartitionCount: {self.partition_count}",
            f"ReplicationFactor: {self.replication_factor}",
            "Configs: " + ",".join(f"{k}={v}" for k, v in self.configs.items()),
        ]
        return "\t".join(parts)

    def partition_line(self, p: PartitionInfo) -> str:
        """Return ``kafka-topics.sh --describe``'s line for partition ``p``.

        Eligible leader replicas (KIP-966) are not in the metadata librdkafka
        returns, so they print as ``N/A``, which is what ``kafka-topics.sh`` prints
        for a cluster that does not report them.
        """
        return "\t" + "\t".join(
            [
                f"Topic: {self.name}",
                f"Partition: {p.partition}",
                f"Leader: {'none' if p.leader is None else p.leader}",
                "Replicas: " + ",".join(map(str, p.replicas)),
                "Isr: " + ",".join(map(str, p.isr)),
                "Elr: N/A",
                "LastKnownElr: N/A",
            ]
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the stable JSON form: topic, topic_id, internal, partition_count,
        replication_factor, configs, partitions."""
        return {
            "topic": self.name,
            "topic_id": self.topic_id,
            "internal": self.internal,
            "partition_count": self.partition_count,
            "replication_factor": self.replication_factor,
            "configs": dict(self.configs),
            "partitions": [p.as_dict() for p in self.partitions],
        }


@dataclass(frozen=True)
class ConfigValue:
    """One topic config as ``kafka-configs.sh --describe`` shows it."""

    name: str
    value: str | None
    source: str
    sensitive: bool = False
    read_only: bool = False
    synonyms: tuple[tuple[str, str, str | None], ...] = ()  # (source, name, value)

    @property
    def is_default(self) -> bool:
        """Return whether the value is the broker's built-in default."""
        return self.source == "DEFAULT_CONFIG"

    def line(self) -> str:
        """Return ``name=value sensitive=... synonyms={SOURCE:name=value, ...}``."""
        value = "null" if self.sensitive or self.value is None else self.value
        syn = ", ".join(f"{s}:{n}={'null' if v is None else v}" for s, n, v in self.synonyms)
        return f"{self.name}={value} sensitive={str(self.sensitive).lower()} synonyms={{{syn}}}"

    def as_dict(self) -> dict[str, Any]:
        """Return the stable JSON form: name, value, source, sensitive, read_only."""
        return {
            "name": self.name,
            "value": None if self.sensitive else self.value,
            "source": self.source,
            "sensitive": self.sensitive,
            "read_only": self.read_only,
        }


# -- parsing --------------------------------------------------------------------------


def parse_config_pairs(items: Iterable[str], option: str = "--config") -> dict[str, str]:
    """Parse ``KEY=VALUE`` items; each item may hold several pairs separated by commas,
    with ``[a,b]`` for a value that itself contains commas (as ``kafka-configs.sh``).

    Raises:
        InvalidInputError: an item is not ``KEY=VALUE``.
    """
    out: dict[str, str] = {}
    for item in items:
        for pair in _split_top_level(item):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise InvalidInputError(f"invalid {option} {pair!r}: expected KEY=VALUE")
            value = value.strip()
            if value.startswith("[") and value.endswith("]"):
                value = value[1:-1]
            out[key.strip()] = value
    return out


def parse_config_names(items: Iterable[str]) -> list[str]:
    """Parse ``--delete-config`` items (names, comma-separated or repeated).

    Raises:
        InvalidInputError: an empty name.
    """
    names = []
    for item in items:
        for name in item.split(","):
            if not name.strip():
                raise InvalidInputError(f"invalid --delete-config {item!r}: empty config name")
            names.append(name.strip())
    return names


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def compile_topic_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a ``--topic`` include pattern as ``kafka-topics.sh`` reads it: a regular
    expression matched against the whole name, where ``,`` also separates
    alternatives and surrounding quotes are dropped.

    Raises:
        InvalidInputError: not a valid regular expression.
    """
    text = pattern.strip().strip("'\"").replace(",", "|")
    try:
        return re.compile(text)
    except re.error as exc:
        raise InvalidInputError(f"invalid topic pattern {pattern!r}: {exc}") from None


# -- reading --------------------------------------------------------------------------


def topic_names(config: ClientConfig) -> list[str]:
    """Return every topic name in the cluster, sorted.

    Raises:
        BrokerUnreachableError: the cluster did not answer.
    """
    from .client import list_topic_partitions

    check_reachable(config)
    return sorted(list_topic_partitions(config.admin(), config))


def list_topics(
    config: ClientConfig, pattern: str | None = None, *, exclude_internal: bool = False
) -> list[str]:
    """Return the sorted topic names matching ``pattern`` (all when ``None``).

    Raises:
        InvalidInputError: a bad pattern.
        BrokerUnreachableError: the cluster did not answer.
    """
    names = topic_names(config)
    if exclude_internal:
        names = [n for n in names if not is_internal(n)]
    if pattern is not None:
        regex = compile_topic_pattern(pattern)
        names = [n for n in names if regex.fullmatch(n)]
    return names


def _source_name(source: Any) -> str:
    try:
        return ConfigSource(int(getattr(source, "value", source))).name
    except (ValueError, TypeError):
        return str(source)


def describe_topic_configs(
    config: ClientConfig, topics: Sequence[str]
) -> dict[str, list[ConfigValue]]:
    """Return every config of each topic, sorted by name.

    Raises:
        UnknownTopicError: a topic does not exist.
        OpsError: the request failed.
    """
    if not topics:
        return {}
    admin = config.admin()
    futures = admin.describe_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, t) for t in topics],
        request_timeout=config.timeout,
    )
    out: dict[str, list[ConfigValue]] = {}
    for resource, future in futures.items():
        entries = _wait_topic(future, config, resource.name, "describe the configs of")
        values = []
        for name, e in sorted(entries.items()):
            synonyms = tuple(
                (_source_name(s.source), s.name, s.value) for s in (e.synonyms or {}).values()
            )
            values.append(
                ConfigValue(
                    name,
                    e.value,
                    _source_name(e.source),
                    bool(e.is_sensitive),
                    bool(e.is_read_only),
                    synonyms,
                )
            )
        out[resource.name] = values
    return out


def describe_topics(
    config: ClientConfig,
    pattern: str | None = None,
    *,
    exclude_internal: bool = False,
    if_exists: bool = False,
) -> list[TopicInfo]:
    """Describe the topics matching ``pattern`` (all when ``None``), sorted by name.

    Raises:
        UnknownTopicError: ``pattern`` matches nothing (unless ``if_exists``).
        OpsError: a request failed.
    """
    names = list_topics(config, pattern, exclude_internal=exclude_internal)
    if pattern is not None and not names and not if_exists:
        raise UnknownTopicError(f"Topic '{pattern}' does not exist as expected")
    if not names:
        return []
    admin = config.admin()
    futures = admin.describe_topics(TopicCollection(names), request_timeout=config.timeout)
    configs = describe_topic_configs(config, names)
    out = []
    for name in names:
        d = _wait_topic(futures[name], config, name, "describe")
        partitions = tuple(
            sorted(
                (
                    PartitionInfo(
                        p.id,
                        p.leader.id if p.leader is not None and p.leader.id >= 0 else None,
                        tuple(n.id for n in p.replicas),
                        tuple(n.id for n in p.isr),
                    )
                    for p in d.partitions
                ),
                key=lambda p: p.partition,
            )
        )
        values = configs.get(name, [])
        min_isr = next((v.value for v in values if v.name == "min.insync.replicas"), None)
        out.append(
            TopicInfo(
                name,
                str(d.topic_id) if d.topic_id is not None else None,
                partitions,
                {v.name: v.value or "" for v in values if not v.is_default and not v.sensitive},
                int(min_isr) if min_isr and min_isr.lstrip("-").isdigit() else 1,
            )
        )
    return out


def live_brokers(config: ClientConfig) -> set[int]:
    """Return the ids of the brokers the cluster reports as alive.

    Raises:
        OpsError: the request failed.
    """
    admin = config.admin()
    result = wait(
        admin.describe_cluster(request_timeout=config.timeout),
        config,
        "cannot describe the cluster",
    )
    return {n.id for n in result.nodes}


# -- changing -------------------------------------------------------------------------


def _error_of(exc: KafkaException) -> KafkaError | None:
    return exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None


def _wait_topic(future: Any, config: ClientConfig, topic: str, verb: str) -> Any:
    """Wait for a per-topic admin future, naming the topic in any error."""
    try:
        return future.result(timeout=config.timeout + 5)
    except KafkaException as exc:
        err = _error_of(exc)
        if err is not None and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise UnknownTopicError(f"Topic '{topic}' does not exist as expected") from None
        raise OpsError(f"cannot {verb} topic '{topic}': {kafka_error_message(exc)}") from None
    except TimeoutError:
        raise OpsError(
            f"cannot {verb} topic '{topic}': no answer within {config.timeout:g}s"
        ) from None


def _await_metadata(config: ClientConfig, topic: str, partitions: int | None) -> None:
    """Wait until the cluster's metadata shows ``topic`` with ``partitions``
    partitions (any count when ``-1``), or no longer shows it (``None``).

    Kafka answers CreateTopics, CreatePartitions and DeleteTopics once the
    controller has committed the change; the brokers learn it a moment later, so
    a ``topics list`` run straight after ``topics create`` could miss the topic.
    Polls with the command's timeout as deadline; on expiry the command still
    succeeded, so this returns rather than fails.
    """
    from .client import list_topic_partitions

    admin = config.admin()
    deadline = time.monotonic() + config.timeout
    pause = 0.01
    while time.monotonic() < deadline:
        seen = list_topic_partitions(admin, config).get(topic)
        if partitions is None and seen is None:
            return
        if partitions is not None and seen is not None and (partitions < 0 or seen >= partitions):
            return
        time.sleep(pause)  # a poll interval, not a wait for a condition
        pause = min(pause * 2, 0.2)


def create_topic(
    config: ClientConfig,
    topic: str,
    partitions: int | None = None,
    replication_factor: int | None = None,
    configs: Mapping[str, str] | None = None,
    *,
    if_not_exists: bool = False,
) -> bool:
    """Create ``topic``; ``None`` partitions or replication factor take the broker's
    defaults (``num.partitions``, ``default.replication.factor``; KIP-464).

    Returns:
        ``True`` if created, ``False`` if it existed and ``if_not_exists`` was set.

    Raises:
        InvalidInputError: partitions or replication factor below 1.
        OpsError: the broker refused (``TOPIC_ALREADY_EXISTS``, an invalid config, ...).
    """
    if partitions is not None and partitions < 1:
        raise InvalidInputError("The partitions must be greater than 0")
    if replication_factor is not None and not 1 <= replication_factor <= 32767:
        raise InvalidInputError("The replication factor must be between 1 and 32767 inclusive")
    check_reachable(config)
    new = NewTopic(
        topic,
        num_partitions=-1 if partitions is None else partitions,
        replication_factor=-1 if replication_factor is None else replication_factor,
        config=dict(configs or {}),
    )
    admin = config.admin()  # kept referenced: a destroyed client fails its futures
    futures = admin.create_topics(
        [new], operation_timeout=config.timeout, request_timeout=config.timeout
    )
    try:
        futures[topic].result(timeout=config.timeout + 5)
    except KafkaException as exc:
        err = _error_of(exc)
        if err is not None and err.code() == KafkaError.TOPIC_ALREADY_EXISTS and if_not_exists:
            return False
        raise OpsError(f"cannot create topic '{topic}': {kafka_error_message(exc)}") from None
    _await_metadata(config, topic, -1 if partitions is None else partitions)
    return True


def alter_partitions(config: ClientConfig, topic: str, partitions: int) -> None:
    """Increase ``topic``'s partition count to ``partitions`` (Kafka cannot decrease it).

    Raises:
        UnknownTopicError: the topic does not exist.
        OpsError: the broker refused (``INVALID_PARTITIONS``, ...).
    """
    if partitions < 1:
        raise InvalidInputError("The partitions must be greater than 0")
    check_reachable(config)
    admin = config.admin()
    futures = admin.create_partitions(
        [NewPartitions(topic, partitions)],
        operation_timeout=config.timeout,
        request_timeout=config.timeout,
    )
    _wait_topic(futures[topic], config, topic, "alter")
    _await_metadata(config, topic, partitions)


def delete_topic(config: ClientConfig, topic: str, *, if_exists: bool = False) -> bool:
    """Delete ``topic``.

    Returns:
        ``True`` if deleted, ``False`` if it did not exist and ``if_exists`` was set.

    Raises:
        UnknownTopicError: the topic does not exist (unless ``if_exists``).
        OpsError: the broker refused.
    """
    check_reachable(config)
    admin = config.admin()
    futures = admin.delete_topics(
        [topic], operation_timeout=config.timeout, request_timeout=config.timeout
    )
    try:
        _wait_topic(futures[topic], config, topic, "delete")
    except UnknownTopicError:
        if if_exists:
            return False
        raise
    _await_metadata(config, topic, None)
    return True


def alter_topic_configs(
    config: ClientConfig,
    topic: str,
    add: Mapping[str, str] | None = None,
    delete: Iterable[str] = (),
) -> None:
    """Set the ``add`` configs and remove the ``delete`` ones (back to the default) on
    ``topic``, in one IncrementalAlterConfigs request (KIP-339); other configs are
    left as they are.

    Raises:
        InvalidInputError: nothing to change, or a key both added and deleted.
        UnknownTopicError: the topic does not exist.
        OpsError: the broker refused (an unknown config, an invalid value, ...).
    """
    add = dict(add or {})
    delete = list(delete)
    if not add and not delete:
        raise InvalidInputError("give --add-config KEY=VALUE or --delete-config KEY to alter")
    both = sorted(set(add) & set(delete))
    if both:
        raise InvalidInputError(f"config {both[0]!r} is both added and deleted")
    check_reachable(config)
    entries = [
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in add.items()
    ] + [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE) for k in delete]
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=entries)
    admin = config.admin()
    futures = admin.incremental_alter_configs([resource], request_timeout=config.timeout)
    for future in futures.values():
        _wait_topic(future, config, topic, "alter the configs of")


def create_like(config: ClientConfig, source: str, target: str) -> bool:
    """Create ``target`` with ``source``'s partition count, replication factor and the
    configs ``source`` sets itself (its dynamic topic configs); do nothing if
    ``target`` already exists.

    Returns:
        ``True`` if ``target`` was created.

    Raises:
        UnknownTopicError: ``source`` does not exist.
        OpsError: the broker refused to create ``target``.
    """
    (info,) = describe_topics(config, re.escape(source))
    own = describe_topic_configs(config, [source])[source]
    configs = {v.name: v.value for v in own if v.source == "DYNAMIC_TOPIC_CONFIG" and v.value}
    return create_topic(
        config,
        target,
        info.partition_count,
        info.replication_factor or None,
        configs,
        if_not_exists=True,
    )
