"""All broker state: topics, partitions and their logs. One owner, no locks.

The ``ClusterState`` lives on the broker's event loop. Every handler reads and
changes it synchronously (never awaiting part-way through a change), so it needs
no locks, as in franz-go's kfake where one goroutine owns the cluster.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .configs import TOPIC_CONFIG_DEFAULTS
from .log import PartitionLog

if TYPE_CHECKING:
    from ..storage.base import Storage

NODE_ID = 0
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


@dataclass(slots=True)
class Topic:
    """A topic: its id, partition logs and explicitly set configs."""

    name: str
    topic_id: uuid.UUID
    partitions: list[PartitionLog]
    configs: dict[str, str] = field(default_factory=dict)

    def config(self, key: str) -> str:
        """Return the effective value of a topic config (set or default)."""
        return self.configs.get(key, TOPIC_CONFIG_DEFAULTS[key])

    @property
    def max_message_bytes(self) -> int:
        """Return ``max.message.bytes``: the largest batch the topic accepts."""
        return int(self.config("max.message.bytes"))

    @property
    def log_append_time(self) -> bool:
        """Return whether the topic stamps batches with LogAppendTime."""
        return self.config("message.timestamp.type") == "LogAppendTime"


@dataclass
class BrokerConfig:
    """Settings of the embedded broker (the ones a test may want to change)."""

    host: str = "127.0.0.1"
    port: int = 0
    advertised_host: str | None = None
    default_partitions: int = 1
    auto_create_topics: bool = True
    max_frame_size: int = 100 * 1024 * 1024
    cluster_id: str = "streamtest-cluster-0001"
    group_initial_rebalance_delay_ms: int = 0
    offsets_retention_minutes: int = 7 * 24 * 60
    transaction_max_timeout_ms: int = 900_000
    #: Forget a transactional id idle this long in a completed state (Kafka's
    #: ``transactional.id.expiration.ms``).
    transactional_id_expiration_ms: int = 7 * 24 * 3_600_000
    #: Forget a partition's idle producer state after this long (Kafka's
    #: ``producer.id.expiration.ms``); how often to look (``...check.interval.ms``).
    producer_id_expiration_ms: int = 24 * 3_600_000
    producer_id_expiration_check_interval_ms: int = 600_000
    extra: dict[str, str] = field(default_factory=dict)


class ClusterState:
    """Topics and logs of the single-node cluster.

    Args:
        config: the broker settings.
        storage: persists changes; ``None`` keeps everything in memory.
    """

    def __init__(self, config: BrokerConfig, storage: Storage | None = None) -> None:
        self.config = config
        self.storage = storage
        self.topics: dict[str, Topic] = {}
        self.topics_by_id: dict[uuid.UUID, Topic] = {}
        self.advertised_port = config.port
        if storage is not None:
            for topic in storage.load_topics():
                self._index(topic)

    # -- topics ------------------------------------------------------------

    def _index(self, topic: Topic) -> None:
        self.topics[topic.name] = topic
        self.topics_by_id[topic.topic_id] = topic

    def create_topic(
        self, name: str, partitions: int | None = None, configs: dict[str, str] | None = None
    ) -> Topic:
        """Create a topic (the caller has validated the name and configs)."""
        n = partitions if partitions and partitions > 0 else self.config.default_partitions
        logs = [PartitionLog(name, i) for i in range(n)]
        topic = Topic(name, uuid.uuid4(), logs, dict(configs or {}))
        self._index(topic)
        if self.storage is not None:
            self.storage.topic_created(topic)
        return topic

    def delete_topic(self, name: str) -> Topic | None:
        """Delete a topic; return it, or ``None`` if it did not exist."""
        topic = self.topics.pop(name, None)
        if topic is None:
            return None
        self.topics_by_id.pop(topic.topic_id, None)
        for log in topic.partitions:
            log.wake_waiters()
        if self.storage is not None:
            self.storage.topic_deleted(topic)
        return topic

    def add_partitions(self, topic: Topic, total: int) -> None:
        """Grow ``topic`` to ``total`` partitions."""
        for i in range(len(topic.partitions), total):
            topic.partitions.append(PartitionLog(topic.name, i))
        if self.storage is not None:
            self.storage.topic_changed(topic)

    def set_configs(self, topic: Topic, configs: dict[str, str]) -> None:
        """Replace the explicitly set configs of ``topic``."""
        topic.configs = dict(configs)
        if self.storage is not None:
            self.storage.topic_changed(topic)

    def partition(self, topic: str, index: int) -> PartitionLog | None:
        """Return the log of ``topic``/``index``, or ``None``."""
        t = self.topics.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            return None
        return t.partitions[index]

    def persist_append(self, log: PartitionLog, batch: memoryview | bytes | bytearray) -> None:
        """Write an appended batch through to storage, before it is acknowledged."""
        if self.storage is not None:
            self.storage.append(log, batch)

    def persist_log_start(self, log: PartitionLog) -> None:
        """Record a moved log start offset in storage."""
        if self.storage is not None:
            self.storage.log_start_changed(log)

    def iter_logs(self) -> Iterable[PartitionLog]:
        """Yield every partition log of every topic."""
        for topic in self.topics.values():
            yield from topic.partitions


def now_ms() -> int:
    """Return the wall-clock time in milliseconds, as Kafka timestamps use."""
    return time.time_ns() // 1_000_000


_LEGAL = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def is_valid_topic_name(name: str) -> str | None:
    """Return why ``name`` is not a legal topic name, or ``None`` if it is.

    Kafka's rules (``org.apache.kafka.common.internals.Topic``): 1-249 characters
    from ``[a-zA-Z0-9._-]``, and not ``.`` or ``..``.
    """
    if not name:
        return "Topic name is illegal, it can't be empty"
    if name in (".", ".."):
        return "Topic name cannot be \".\" or \"..\""
    if len(name) > 249:
        return "Topic name is illegal, it can't be longer than 249 characters"
    if not set(name) <= _LEGAL:
        return (
            f"Topic name \"{name}\" is illegal, it contains a character other than "
            "ASCII alphanumerics, '.', '_' and '-'"
        )
    return None
