"""Creating, deleting and growing topics, and replacing their configs.

CreateTopics, Metadata's auto-creation, CreatePartitions, DeleteTopics, the
AlterConfigs family, ``EmbeddedKafka.create_topic`` and the coordinators' internal
topics all go through :class:`TopicService`, so the rules (names, partition
counts, replication factors, configs, replica placement) are checked in one place,
with Kafka's error codes and messages.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ...protocol.errors import ErrorCode
from ..topics import Partition, Topic, TopicTable, is_valid_topic_name
from .configs import TopicDefaults, validate_topic_config

if TYPE_CHECKING:
    from ..log import PartitionLog as ReplicaLog

#: Kafka's cap on partitions per CreateTopics/CreatePartitions request and topic.
MAX_PARTITIONS = 1_000_000


class TopicError(Exception):
    """A refused topic operation: a Kafka error code and its message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ReplicaLogs(Protocol):
    """Creates and deletes the replica logs of partitions on nodes."""

    def create(
        self,
        node_id: int,
        topic: str,
        topic_id: uuid.UUID,
        index: int,
        configs: Mapping[str, str] | None = None,
    ) -> ReplicaLog:
        """Return a new, empty replica log of ``topic``/``index`` on ``node_id``, with
        the topic's ``configs`` (``None``: those of the registered topic)."""
        ...

    def delete(self, node_id: int, log: ReplicaLog) -> None:
        """Delete a replica log and its files."""
        ...


class TopicStore(Protocol):
    """Persists topic definitions (the metadata Kafka keeps in its KRaft log)."""

    def topic_created(self, topic: Topic) -> None:
        """Persist a new topic."""
        ...

    def topic_changed(self, topic: Topic) -> None:
        """Persist new partitions, assignments or configs."""
        ...

    def topic_deleted(self, topic: Topic) -> None:
        """Forget a topic."""
        ...


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create, as CreateTopics describes it.

    Attributes:
        name: the topic name.
        partitions: -1 for the broker default (``num.partitions``).
        replication_factor: -1 for the broker default (``default.replication.factor``).
        assignments: explicit replica lists per partition (then the two above are -1).
        configs: topic configs in Kafka's names.
    """

    name: str
    partitions: int = -1
    replication_factor: int = -1
    assignments: Sequence[Sequence[int]] | None = None
    configs: Mapping[str, str] | None = None


class TopicService:
    """The topic rules of one cluster.

    Args:
        topics: the cluster's topic table.
        defaults: resolves topic config defaults from the broker settings.
        settings_int: reads an integer broker setting.
        live_nodes: returns the ids of the nodes that are up, sorted.
        all_nodes: returns the ids of every registered node, sorted.
        logs: creates and deletes replica logs.
        store: persists topic definitions (``None``: memory only).
        on_deleted: called with each deleted topic (groups drop its offsets).
    """

    def __init__(
        self,
        topics: TopicTable,
        defaults: TopicDefaults,
        settings_int: Callable[[str], int],
        live_nodes: Callable[[], list[int]],
        all_nodes: Callable[[], list[int]],
        logs: ReplicaLogs,
        store: TopicStore | None,
    ) -> None:
        self.topics = topics
        self.defaults = defaults
        self._int = settings_int
        self.live_nodes = live_nodes
        self.all_nodes = all_nodes
        self.logs = logs
        self.store = store
        self.on_deleted: list[Callable[[Topic], None]] = []
        #: Called with every new partition (replication starts its bookkeeping).
        self.on_partition: list[Callable[[Partition], None]] = []
        #: Called with a topic whose configs were replaced (its logs apply them).
        self.on_configs_changed: list[Callable[[Topic], None]] = []
        # Kafka starts replica placement at a random node; a seeded generator keeps
        # leaders the same from run to run, so tests are reproducible.
        self._rng = random.Random(0)

    # -- validation ----------------------------------------------------------------

    def check(self, spec: TopicSpec) -> tuple[int, list[list[int]]]:
        """Validate ``spec``; return the partition count and each partition's replicas.

        Raises:
            TopicError: INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS,
                INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
                INVALID_REPLICA_ASSIGNMENT or INVALID_CONFIG, with Kafka's message.
        """
        reason = is_valid_topic_name(spec.name)
        if reason is not None:
            raise TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason)
        if spec.name in self.topics:
            raise TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{spec.name}' already exists.")
        collision = self._collision(spec.name)
        if collision is not None:
            raise TopicError(
                ErrorCode.INVALID_TOPIC_EXCEPTION,
                f"Topic '{spec.name}' collides with existing topic: {collision}",
            )
        for name, value in (spec.configs or {}).items():
            problem = validate_topic_config(name, value)
            if problem is not None:
                raise TopicError(ErrorCode.INVALID_CONFIG, problem)
        if spec.assignments:
            return len(spec.assignments), self._check_assignments(spec)
        count = spec.partitions if spec.partitions != -1 else self._int("num.partitions")
        if count <= 0 or count > MAX_PARTITIONS:
            raise TopicError(
                ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0."
            )
        rf = (
            spec.replication_factor
            if spec.replication_factor != -1
            else self._int("default.replication.factor")
        )
        return count, self.assign(count, rf)

    def _collision(self, name: str) -> str | None:
        # Kafka refuses names that differ only by '.' and '_' (they share a metric name).
        if "." not in name and "_" not in name:
            return None
        norm = name.replace(".", "_")
        for other in self.topics.names():
            if other != name and other.replace(".", "_") == norm:
                return other
        return None

    def _check_assignments(self, spec: TopicSpec) -> list[list[int]]:
        if spec.partitions != -1 or spec.replication_factor != -1:
            raise TopicError(
                ErrorCode.INVALID_REQUEST,
                "Both numPartitions or replicationFactor and replicasAssignments were set. "
                "Both cannot be used at the same time.",
            )
        known = set(self.all_nodes())
        out: list[list[int]] = []
        sizes = {len(a) for a in spec.assignments or ()}
        if len(sizes) != 1:
            raise TopicError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                "All partitions should have the same number of replicas",
            )
        for replicas in spec.assignments or ():
            replicas = list(replicas)
            if not replicas or len(set(replicas)) != len(replicas):
                raise TopicError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Duplicate brokers or empty replica list in {replicas}",
                )
            unknown = [r for r in replicas if r not in known]
            if unknown:
                raise TopicError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Unknown broker(s) {unknown} in replica assignment",
                )
            out.append(replicas)
        return out

    def assign(self, count: int, replication_factor: int, first: int = 0) -> list[list[int]]:
        """Place ``count`` partitions (numbered from ``first``) with
        ``replication_factor`` replicas each over the live nodes, as Kafka's
        rack-unaware assignment does (``assignReplicasToBrokersRackUnaware``).

        Raises:
            TopicError: INVALID_REPLICATION_FACTOR when there are fewer live nodes.
        """
        nodes = self.live_nodes()
        if replication_factor <= 0:
            raise TopicError(
                ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0."
            )
        if replication_factor > len(nodes):
            raise TopicError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"Unable to replicate the partition {replication_factor} time(s): The target "
                f"replication factor of {replication_factor} cannot be reached because only "
                f"{len(nodes)} broker(s) are registered.",
            )
        n = len(nodes)
        start = self._rng.randrange(n)
        shift = self._rng.randrange(n)
        out = []
        for p in range(first, first + count):
            if p > 0 and p % n == 0:
                shift += 1
            leader_at = (p + start) % n
            replicas = [nodes[leader_at]]
            for j in range(replication_factor - 1):
                replicas.append(nodes[(leader_at + 1 + (shift + j) % (n - 1)) % n])
            out.append(replicas)
        return out

    # -- changes -------------------------------------------------------------------

    def create(self, spec: TopicSpec, validate_only: bool = False) -> Topic:
        """Create the topic ``spec`` describes (or, with ``validate_only``, build it
        without registering it); return it.

        Raises:
            TopicError: the spec is refused (see :meth:`check`).
        """
        count, assignments = self.check(spec)
        topic_id = uuid.uuid4() if not validate_only else uuid.UUID(int=0)
        topic = Topic(spec.name, topic_id, [], dict(spec.configs or {}), self.defaults)
        if validate_only:
            return topic
        topic.partitions = [
            self._partition(topic, i, replicas) for i, replicas in enumerate(assignments)
        ]
        self.topics.add(topic)
        if self.store is not None:
            self.store.topic_created(topic)
        return topic

    def _partition(self, topic: Topic, index: int, replicas: list[int]) -> Partition:
        logs = {
            r: self.logs.create(r, topic.name, topic.topic_id, index, topic.configs)
            for r in replicas
        }
        partition = Partition(topic.name, topic.topic_id, index, replicas, logs)
        partition.config = topic.config
        for listener in self.on_partition:
            listener(partition)
        return partition

    def restore(
        self,
        name: str,
        topic_id: uuid.UUID,
        configs: Mapping[str, str],
        partitions: list[tuple[list[int], dict[int, ReplicaLog]]],
    ) -> Topic:
        """Register a topic recovered from storage (no validation, nothing persisted;
        the caller elects each partition's leader and starts its bookkeeping)."""
        topic = Topic(name, topic_id, [], dict(configs), self.defaults)
        for i, (replicas, logs) in enumerate(partitions):
            partition = Partition(name, topic_id, i, replicas, logs)
            partition.config = topic.config
            topic.partitions.append(partition)
        self.topics.add(topic)
        return topic

    def delete(self, name: str) -> Topic:
        """Delete a topic: its partitions, replica logs and parked fetches.

        Raises:
            TopicError: UNKNOWN_TOPIC_OR_PARTITION, or TOPIC_DELETION_DISABLED.
        """
        if name not in self.topics:
            raise TopicError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                "This server does not host this topic-partition.",
            )
        topic = self.topics.remove(name)
        assert topic is not None
        for partition in topic.partitions:
            partition.wake_waiters()
            for node_id, log in partition.logs.items():
                self.logs.delete(node_id, log)
        if self.store is not None:
            self.store.topic_deleted(topic)
        for listener in self.on_deleted:
            listener(topic)
        return topic

    def add_partitions(
        self,
        topic: Topic,
        total: int,
        assignments: Sequence[Sequence[int]] | None = None,
        validate_only: bool = False,
    ) -> None:
        """Grow ``topic`` to ``total`` partitions (CreatePartitions).

        Raises:
            TopicError: INVALID_PARTITIONS or INVALID_REPLICA_ASSIGNMENT.
        """
        current = len(topic.partitions)
        if total <= current:
            raise TopicError(
                ErrorCode.INVALID_PARTITIONS,
                f"Topic currently has {current} partitions, which is higher than or equal "
                f"to the requested {total}.",
            )
        if total > MAX_PARTITIONS:
            raise TopicError(ErrorCode.INVALID_PARTITIONS, "Number of partitions is too large.")
        if assignments is not None:
            if len(assignments) != total - current:
                raise TopicError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Increasing the number of partitions by {total - current} but "
                    f"{len(assignments)} assignments provided.",
                )
            new = self._check_assignments(TopicSpec(topic.name, assignments=assignments))
        else:
            new = self.assign(total - current, topic.replication_factor, first=current)
        if validate_only:
            return
        for offset, replicas in enumerate(new):
            topic.partitions.append(self._partition(topic, current + offset, replicas))
        if self.store is not None:
            self.store.topic_changed(topic)

    def set_configs(self, topic: Topic, configs: Mapping[str, str]) -> None:
        """Replace the explicitly set configs of ``topic`` (validated by the caller)."""
        topic.configs = dict(configs)
        if self.store is not None:
            self.store.topic_changed(topic)
        for listener in self.on_configs_changed:
            listener(topic)
