"""The logical cluster: N nodes, the topics, and the services, on one event loop.

:class:`Cluster` is the composition root of the broker. It owns every piece of
state and is touched only from its event loop, as franz-go's kfake has one
goroutine own its cluster: nothing locks. It builds the services and hands each
one only what it needs (the topic table, the settings, the clock, a store), so no
coordinator or handler reaches through "the broker" for something else.

Clients connect to :class:`~.node.Node` listeners; a request is served with the
node it arrived on (a partition's leader or a group's coordinator may be another
node, and the answer says so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..protocol.errors import ErrorCode
from ..protocol.records import RecordInput, build_batch, iter_records, parse_header
from . import (
    apis,  # noqa: F401  (registers every API handler)
    logfilter,
)
from .clock import Clock, make_clock
from .config import BrokerSettings
from .control import ClusterControl
from .control_endpoint import ControlEndpoint
from .faults import FaultTable
from .groups import GroupCoordinator
from .intercept import Interceptors
from .log import LogManager, PartitionLog
from .node import Node
from .producers import ProducerIdManager
from .quorum import MetadataQuorum
from .quotas import open_store
from .replication import ReplicaManager
from .services.configs import TopicDefaults
from .services.group_configs import GroupConfigs
from .services.topics import TopicService, TopicSpec
from .share import SharePartitionManager, ShareStateStore
from .storage.fs import FileSystem, MemoryFileSystem, OsFileSystem
from .storage.metadata import DataDirError, MetadataStore
from .topics import NO_LEADER, Partition, Topic, TopicTable
from .txn import TransactionCoordinator

if TYPE_CHECKING:
    import uuid

    from .metrics import BrokerMetrics

log = logging.getLogger("streamtest.broker")
# One WARNING line per closed connection, at most ten every ten seconds
# (a misbehaving client can close thousands a second).
logfilter.install()

_PRODUCER_IDS = "producer_ids"
#: Storage namespace of the dynamic broker configs: level ("" or a node id) -> values.
_BROKER_CONFIGS = "broker_configs"
#: The groups and TxnOffsetCommit offsets of open transactions (Kafka keeps these in
#: __consumer_offsets as transactional records; see txn.coordinator).
_TXN_STAGED_OFFSETS = "txn_staged_offsets"
#: Internal topic, partition-count setting and replication-factor setting, by
#: FindCoordinator key type (0 groups, 1 transactions, 2 share-group state).
_INTERNAL = (
    ("__consumer_offsets", "offsets.topic.num.partitions", "offsets.topic.replication.factor"),
    (
        "__transaction_state",
        "transaction.state.log.num.partitions",
        "transaction.state.log.replication.factor",
    ),
    (
        "__share_group_state",
        "share.coordinator.state.topic.num.partitions",
        "share.coordinator.state.topic.replication.factor",
    ),
)


def java_string_hash(key: str) -> int:
    """Return ``abs(key.hashCode())`` as Java computes it (Kafka's ``Utils.abs``:
    the sign bit cleared), over the UTF-16 code units of ``key``."""
    h = 0
    data = key.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h & 0x7FFFFFFF


class _ReplicaLogs:
    """Creates and deletes replica logs through each node's log manager."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def create(
        self,
        node_id: int,
        topic: str,
        topic_id: uuid.UUID,
        index: int,
        configs: Mapping[str, str] | None = None,
    ) -> PartitionLog:
        cluster = self.cluster
        if configs is None:
            found = cluster.topics.get(topic)
            configs = found.configs if found is not None else {}
        return cluster.nodes[node_id].logs.get_or_create(topic, index, configs)

    def delete(self, node_id: int, replica: PartitionLog) -> None:
        node = self.cluster.nodes.get(node_id)
        if node is None:
            return
        try:
            node.logs.delete(replica.topic, replica.index)
        except OSError as exc:
            log.error("deleting %s on node %d failed: %s", replica.directory, node_id, exc)


class _CoordinatorTopic:
    """An internal topic as a coordinator writes and reads it: records go to the
    key's partition through the normal append path (so they are replicated and
    persisted like any record), and are read back from the leaders' logs."""

    def __init__(self, cluster: Cluster, key_type: int) -> None:
        self.cluster = cluster
        self.key_type = key_type
        self.name = _INTERNAL[key_type][0]

    def _write(self, partition: Partition, records: list[tuple[bytes, bytes | None]]) -> ErrorCode:
        """Append ``records`` to ``partition``'s leader; return NONE, or the error
        Kafka's coordinators map a failed append to (COORDINATOR_NOT_AVAILABLE
        without a leader, NOT_COORDINATOR for KAFKA_STORAGE_ERROR)."""
        now = self.cluster.clock.now_ms()
        batch = build_batch(
            [RecordInput(key, value, timestamp=now) for key, value in records],
            base_offset=partition.log_end_offset,
            default_timestamp=now,
        )
        try:
            self.cluster.replicas.append_to_leader(partition, batch, parse_header(batch))
        except LookupError:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        except OSError as exc:
            log.error("writing to %s-%d failed: %s", self.name, partition.index, exc)
            return ErrorCode.NOT_COORDINATOR
        return ErrorCode.NONE

    def replay(self) -> Iterator[tuple[bytes, bytes | None]]:
        """Yield every keyed record of the topic, each partition in offset order."""
        topic = self.cluster.topics.get(self.name)
        if topic is None:
            return
        for partition in topic.partitions:
            if not partition.online:
                continue
            for header, batch in partition.iter_batches(
                partition.log_start_offset, partition.log_end_offset
            ):
                if header.is_control:
                    continue
                for record in iter_records(batch):
                    if record.key is not None:
                        yield record.key, record.value


class _OffsetsTopic(_CoordinatorTopic):
    """``__consumer_offsets`` as the group coordinator writes and reads it."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(cluster, 0)

    def append(self, group_id: str, records: list[tuple[bytes, bytes | None]]) -> None:
        partition = self.cluster.coordinator_partition(0, group_id)
        if partition is None or not partition.online:
            log.warning("__consumer_offsets is not available; group %r's change is not "
                        "recorded", group_id)
            return
        self._write(partition, records)


class _TransactionStateTopic(_CoordinatorTopic):
    """``__transaction_state`` as the transaction coordinator writes and reads it
    (``txn.coordinator.TransactionLog``). Kafka writes it with acks=-1, so a
    partition with fewer in-sync replicas than its ``min.insync.replicas`` refuses
    the write (NOT_ENOUGH_REPLICAS, which the coordinator answers as
    COORDINATOR_NOT_AVAILABLE)."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(cluster, 1)

    def append(self, transactional_id: str, records: list[tuple[bytes, bytes | None]]) -> ErrorCode:
        partition = self.cluster.coordinator_partition(1, transactional_id)
        if partition is None or not partition.online:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if len(partition.isr) < partition.min_insync_replicas():
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        return self._write(partition, records)


class _MetaJournal:
    """One namespace of the metadata journal (``MetadataStore.put_meta`` documents)."""

    def __init__(self, storage: MetadataStore, namespace: str) -> None:
        self.storage = storage
        self.namespace = namespace

    def load(self) -> dict[str, Any]:
        """Return every key's document."""
        return self.storage.load_meta(self.namespace)

    def put(self, key: str, doc: Any) -> None:
        """Store ``doc`` under ``key`` (``None`` deletes it).

        Raises:
            OSError: the write failed.
        """
        self.storage.put_meta(self.namespace, key, doc)


class Cluster:
    """A Kafka-compatible cluster of ``brokers`` nodes in this process.

    Args:
        brokers: number of nodes (ids 0..N-1).
        settings: broker settings in Kafka's names (a mapping or ``BrokerSettings``).
        clock: ``"real"`` (default), ``"manual"`` or a ``Clock``.
        host: interface the nodes bind.
        port: port of node 0; node ``i`` binds ``port + i`` (0: free ports).
        advertised_host: host clients are told to connect to.
        data_dir: persist the cluster there; ``None`` keeps everything in memory.
        control_port: open the control endpoint (``streamtest cluster``) on this
            loopback port (0: a free one); ``None``: no endpoint.

    Raises:
        ConfigError: a setting is unknown or invalid.
        QuotaStoreError: the client quotas saved in ``data_dir`` cannot be read
            (an ``OSError`` naming the file).
    """

    def __init__(
        self,
        brokers: int = 1,
        settings: BrokerSettings | Mapping[str, object] | None = None,
        clock: Clock | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        advertised_host: str | None = None,
        data_dir: str | Path | None = None,
        control_port: int | None = None,
    ) -> None:
        if brokers < 1:
            raise ValueError(f"a cluster needs at least one broker, not {brokers}")
        self.settings = (
            settings if isinstance(settings, BrokerSettings) else BrokerSettings(settings)
        )
        self.clock = make_clock(clock)
        self.host = host
        self.nodes: dict[int, Node] = {
            i: Node(i, host, port + i if port else 0, advertised_host) for i in range(brokers)
        }
        self.data_dir = Path(data_dir) if data_dir is not None else None
        #: Topic definitions and metadata documents (``None``: memory only).
        self.storage: MetadataStore | None = (
            MetadataStore(self.data_dir) if self.data_dir is not None else None
        )
        self._init_dynamic_configs()
        storage = self.storage
        self.producer_ids = ProducerIdManager(
            (lambda: storage.load_meta(_PRODUCER_IDS).get("block_end"))
            if storage
            else (lambda: None),
            (lambda end: storage.put_meta(_PRODUCER_IDS, "block_end", end))
            if storage
            else (lambda end: None),
        )
        self.topics = TopicTable()
        self.replicas = ReplicaManager(
            self.clock,
            self,
            lambda: int(self.settings["replica.lag.time.max.ms"]),
            self._leader_changed,
            self.producer_ids,
        )
        self.topic_service = TopicService(
            self.topics,
            TopicDefaults(self.settings),
            lambda name: int(self.settings[name]),
            self.live_node_ids,
            self.node_ids,
            _ReplicaLogs(self),
            self.storage,
        )
        self.topic_service.on_partition.append(self.replicas.init_partition)
        self.topic_service.on_configs_changed.append(self._topic_configs_changed)
        #: The KRaft metadata quorum as DescribeQuorum reports it (``quorum.py``).
        self.quorum = MetadataQuorum(
            self.clock.now_ms,
            self.node_ids,
            self.live_node_ids,
            self.topics.partitions,
            lambda: len(self.topics),
        )
        self.topic_service.on_deleted.append(self.quorum.topic_deleted)
        self.topic_service.on_configs_changed.append(lambda *_: self.quorum.record())
        persist = self.settings.on_dynamic_change

        def configs_changed(level: str, values: dict[str, str]) -> None:
            if persist is not None:
                persist(level, values)
            self.quorum.record()

        self.settings.on_dynamic_change = configs_changed
        #: Node and leadership operations for tests (``control.py``).
        self.control = ClusterControl(self)
        #: Ongoing reassignments (KIP-455): (topic, partition) -> (target, original).
        self.reassignments: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
        for node in self.nodes.values():
            self.open_node_storage(node)
        self._restore()
        #: Client quota configs (AlterClientQuotas), cluster-wide as Kafka keeps them
        #: in its metadata (here beside it, in the metadata directory); each node
        #: measures and throttles its own clients.
        self.quotas = open_store(self.storage.root if self.storage is not None else None)
        for node in self.nodes.values():
            node.start_services(self)
        #: Injected failures (``faults.py``) and intercept hooks (``intercept.py``).
        self.faults = FaultTable()
        self.interceptors = Interceptors()
        #: ``clock.monotonic()`` of the latest request (the warm-up waits for quiet).
        self.last_activity = 0.0
        #: Called with every request's context before it is served (request counts,
        #: metrics); keep them cheap, they run on the hot path.
        self.observers: list[Callable[[Any], None]] = []
        #: Called with a connection id when that connection closes (groups use it).
        self.close_listeners: list[Callable[[int], None]] = []
        #: Group configs (the GROUP config resource of KIP-848 and KIP-932).
        self.group_configs = GroupConfigs(self.settings, self.storage)
        #: Consumer groups and committed offsets.
        self.groups = GroupCoordinator(
            self.settings, self.clock, self.topics, _OffsetsTopic(self), self.group_configs
        )
        self.topic_service.on_deleted.append(lambda t: self.groups.offsets.delete_topic(t.name))
        #: Share partitions and share sessions (KIP-932), on partition leaders; their
        #: state goes through one store (``share/store.py``).
        self.shares = SharePartitionManager(
            self.topics, self.settings, self.clock, self.group_configs,
            ShareStateStore(self.storage),
        )
        self.topic_service.on_deleted.append(self.shares.topic_deleted)
        self.groups.deleted_listeners.append(self.shares.delete_group)
        self.close_listeners.append(self.shares.connection_closed)
        #: The transaction coordinator (KIP-98). Built after the groups: finishing a
        #: transaction left in PrepareCommit hands its offsets to them.
        self.transactions = TransactionCoordinator(
            self.settings,
            self.clock,
            self.producer_ids,
            self.topics,
            self.replicas,
            self.groups.commit_offsets_from_txn,
            _TransactionStateTopic(self),
            _MetaJournal(self.storage, _TXN_STAGED_OFFSETS) if self.storage else None,
            self._offsets_partition,
        )
        self._warmup: asyncio.Task[None] | None = None
        self._control_port = control_port
        self.control_endpoint: ControlEndpoint | None = None
        #: Prometheus metrics (``metrics.enable_metrics``); ``None`` while they are off.
        self.metrics: BrokerMetrics | None = None

    def _init_dynamic_configs(self) -> None:
        """Bind the settings to the nodes, restore the dynamic broker configs a data
        dir holds (KIP-226 configs survive a restart, as in Kafka's metadata log),
        persist later changes there, then record what a new cluster records."""
        self.settings.bind_nodes(self.node_ids)
        storage = self.storage
        if storage is not None:
            self.settings.load_dynamic(storage.load_meta(_BROKER_CONFIGS))

            def persist(level: str, values: dict[str, str]) -> None:
                storage.put_meta(_BROKER_CONFIGS, level, values or None)

            self.settings.on_dynamic_change = persist
        self.settings.bootstrap_dynamic_defaults()

    # -- storage -----------------------------------------------------------------------

    def node_filesystem(self, node_id: int) -> FileSystem:
        """Return a new filesystem for node ``node_id``'s logs: its directory
        ``node-<id>`` of the data dir, or memory.

        Raises:
            DataDirError: the directory cannot be created.
        """
        if self.data_dir is None:
            return MemoryFileSystem()
        root = self.data_dir / f"node-{node_id}"
        try:
            return OsFileSystem(root)
        except OSError as exc:
            raise DataDirError(f"cannot use log dir {root}: {exc.strerror or exc}") from None

    def open_node_storage(self, node: Node, fs: FileSystem | None = None) -> dict[
        tuple[str, int], PartitionLog
    ]:
        """Give ``node`` a log manager on ``fs`` (its existing filesystem, or a new
        one) and load the logs it finds there; return them by (topic, partition).

        Raises:
            DataDirError: the node's directory cannot be used.
            OSError: a log cannot be read (the message names it).
        """
        if fs is None:
            fs = node.fs if node.fs is not None else self.node_filesystem(node.node_id)
        node.fs = fs
        node.logs = LogManager(fs, self.clock, self.settings)
        configs = {t.name: t.configs for t in self.topics}
        if self.storage is not None:
            for record in self.storage.load_topics():
                configs.setdefault(record.name, record.configs)
        return node.logs.load(configs)

    def shutdown_node_storage(self, node: Node) -> None:
        """Shut ``node``'s logs down cleanly: flushed, checkpointed, and marked so
        that the next start trusts them without a scan. A failure is logged (the
        next start then recovers what the checkpoints say is unflushed)."""
        try:
            node.logs.shutdown()
        except OSError as exc:
            log.error("node %d: clean shutdown of its logs failed: %s", node.node_id, exc)

    def _restore(self) -> None:
        """Rebuild the topics from the metadata store and the nodes' recovered logs:
        in each partition the replicas with the longest log form the ISR and the
        first of them (in assignment order) leads, at an epoch above any its logs
        have seen (Kafka elects again at start-up the same way: only replicas with
        everything committed may lead)."""
        if self.storage is None:
            return
        known: set[tuple[int, str, int]] = set()
        for record in self.storage.load_topics():
            partitions = []
            for index, replicas in enumerate(record.replicas):
                logs = {}
                for r in replicas:
                    node = self.nodes.get(r)
                    if node is None:
                        continue  # a node of a bigger cluster: its replica is lost
                    logs[r] = node.logs.get_or_create(record.name, index, record.configs)
                    known.add((r, record.name, index))
                partitions.append((replicas, logs))
            topic = self.topic_service.restore(
                record.name, record.topic_id, record.configs, partitions
            )
            for partition in topic.partitions:
                self._elect_on_restore(partition)
        # Logs on a node whose topic (or replica) is gone: a deletion the crash cut
        # short. Kafka deletes stray logs at start-up too.
        for node in self.nodes.values():
            for (topic_name, index) in list(node.logs.logs):
                if (node.node_id, topic_name, index) not in known:
                    log.warning("node %d: deleting the stray log %s-%d", node.node_id,
                                topic_name, index)
                    node.logs.delete(topic_name, index)

    def _elect_on_restore(self, partition: Partition) -> None:
        logs = partition.logs
        if not logs:
            partition.leader = NO_LEADER
            partition.isr = []
            return
        longest = max(log.log_end_offset for log in logs.values())
        isr = [r for r in partition.replicas if r in logs and logs[r].log_end_offset == longest]
        epochs = [log.epochs.latest_epoch for log in logs.values()]
        partition.leader_epoch = max((e for e in epochs if e is not None), default=-1) + 1
        partition.partition_epoch = partition.leader_epoch
        partition.isr = isr
        partition.leader = isr[0]
        self.replicas.init_partition(partition)

    # -- nodes ----------------------------------------------------------------------

    def node_ids(self) -> list[int]:
        """Return the ids of every node, sorted."""
        return sorted(self.nodes)

    def live_node_ids(self) -> list[int]:
        """Return the ids of the nodes that are up, sorted."""
        return sorted(i for i, n in self.nodes.items() if n.running)

    # Topology (what replication asks about the nodes).

    def alive(self, node_id: int) -> bool:
        """Return whether node ``node_id`` is up."""
        node = self.nodes.get(node_id)
        return node is not None and node.running

    def isolated_since_ms(self, node_id: int) -> int | None:
        """Return when node ``node_id`` was cut off from the others, or ``None``."""
        node = self.nodes.get(node_id)
        return None if node is None else node.isolated_since_ms

    def reachable(self, a: int, b: int) -> bool:
        """Return whether nodes ``a`` and ``b`` can talk to each other."""
        if not (self.alive(a) and self.alive(b)):
            return False
        return a == b or (
            self.nodes[a].isolated_since_ms is None and self.nodes[b].isolated_since_ms is None
        )

    def _leader_changed(self, partition: Partition) -> None:
        # Each replica keeps its own producer state (replication.py), so the new
        # leader's is already current: nothing to rebuild, as in Kafka.
        pass

    def _topic_configs_changed(self, topic: Topic) -> None:
        """Apply a topic's new configs to its replica logs on every node (retention,
        segment and cleaner settings take effect at once, as in Kafka)."""
        for node in self.nodes.values():
            if node.logs is not None:
                node.logs.update_config(topic.name, topic.configs)

    def start_reassignment(self, partition: Partition, target: list[int]) -> None:
        """Move ``partition`` to the ``target`` replicas (AlterPartitionReassignments):
        at once if every target node is up, else once they are (it stays listed
        by ListPartitionReassignments until then)."""
        original = self.reassignments.get(partition.key, (None, list(partition.replicas)))[1]
        if all(self.alive(r) for r in target):
            self.reassignments.pop(partition.key, None)
            self.reassign(partition, target)
            return
        self.reassignments[partition.key] = (list(target), original)
        # Kafka's replica set during a reassignment is the union of both.
        union = list(dict.fromkeys(original + target))
        for r in union:
            if r not in partition.logs:
                partition.logs[r] = self.topic_service.logs.create(
                    r, partition.topic, partition.topic_id, partition.index
                )
        partition.replicas = union
        partition.partition_epoch += 1
        for r in union:
            self.replicas.catch_up(partition, r)

    def cancel_reassignment(self, partition: Partition) -> bool:
        """Stop an ongoing reassignment, back to the original replicas; return
        whether there was one."""
        found = self.reassignments.pop(partition.key, None)
        if found is None:
            return False
        self.reassign(partition, found[1])
        return True

    def resume_reassignments(self) -> None:
        """Finish the reassignments whose target nodes are all up again."""
        for key, (target, _original) in list(self.reassignments.items()):
            partition = self.topics.partition(*key)
            if partition is None:
                del self.reassignments[key]
            elif all(self.alive(r) for r in target):
                del self.reassignments[key]
                self.reassign(partition, target)

    def reassign(self, partition: Partition, replicas: list[int]) -> None:
        """Give ``partition`` a new replica set: new replicas copy the log and join
        the ISR, removed ones drop theirs; leadership moves if its leader left.

        Raises:
            ValueError: an unknown node or an empty replica set.
        """
        if not replicas or any(r not in self.nodes for r in replicas):
            raise ValueError(f"invalid replica set {replicas}")
        topic = self.topics.get(partition.topic)
        for r in replicas:
            if r not in partition.logs:
                partition.logs[r] = self.topic_service.logs.create(
                    r, partition.topic, partition.topic_id, partition.index
                )
        old = list(partition.replicas)
        # New replicas copy the log from the current leader first (Kafka adds them,
        # waits for them to join the ISR, then drops the old ones).
        partition.replicas = list(dict.fromkeys(old + list(replicas)))
        for r in replicas:
            if r not in old:
                self.replicas.catch_up(partition, r)
        partition.replicas = list(replicas)
        partition.partition_epoch += 1
        gone = [r for r in old if r not in replicas]
        for r in gone:
            if r in partition.isr and len(partition.isr) > 1:
                partition.isr.remove(r)
        if partition.leader in gone or not partition.online:
            self.replicas.elect(partition)
        for r in gone:
            if r in partition.isr:
                partition.isr.remove(r)
            self.topic_service.logs.delete(r, partition.logs.pop(r))
            partition.states.pop(r, None)
        if self.storage is not None and topic is not None:
            self.storage.topic_changed(topic)

    def log_dir(self, node_id: int) -> str:
        """Return node ``node_id``'s log directory as tools see it (``log.dirs``,
        DescribeLogDirs): its ``node-<id>`` directory of the data dir (see
        :meth:`node_filesystem`), or, for a cluster kept in memory, a ``memory://``
        name (there is no directory, and the name says so)."""
        if self.data_dir is not None:
            return str(self.data_dir / f"node-{node_id}")
        return f"memory://streamtest/node-{node_id}"

    @property
    def controller_id(self) -> int:
        """Return the id of the active controller (the lowest live node id)."""
        live = self.live_node_ids()
        return live[0] if live else -1

    def coordinator_partition(self, key_type: int, key: str) -> Partition | None:
        """Return the internal-topic partition whose leader coordinates ``key``: the
        ``__consumer_offsets`` partition of a group (key_type 0; share groups too),
        the ``__transaction_state`` partition of a transactional id (key_type 1) or
        the ``__share_group_state`` partition of a share partition's state (key_type
        2, key ``group:topicId:partition``), chosen as Kafka chooses it
        (``abs(key.hashCode()) % partitions``).
        The internal topic is created on first use, as Kafka creates it on the
        first FindCoordinator; ``None`` while it cannot be (no live node).
        """
        name, count_key, rf_key = _INTERNAL[key_type if key_type in (1, 2) else 0]
        topic = self.topics.get(name)
        if topic is None:
            topic = self._create_internal(name, int(self.settings[count_key]), rf_key)
            if topic is None:
                return None
        return topic.partitions[java_string_hash(key) % len(topic.partitions)]

    def _offsets_partition(self, group_id: str) -> int | None:
        partition = self.coordinator_partition(0, group_id)
        return None if partition is None else partition.index

    def coordinator_for(self, key_type: int, key: str) -> Node | None:
        """Return the node that coordinates group or transactional id ``key``
        (FindCoordinator ``key_type``), or ``None`` while none can."""
        partition = self.coordinator_partition(key_type, key)
        if partition is None or not partition.online:
            return None
        node = self.nodes.get(partition.leader)
        return node if node is not None and node.running else None

    def is_coordinator(self, node_id: int, key_type: int, key: str) -> ErrorCode:
        """Return NONE if ``node_id`` coordinates ``key``, else NOT_COORDINATOR (or
        COORDINATOR_NOT_AVAILABLE while no node can), as a group or transaction API
        answers a request sent to the wrong node."""
        node = self.coordinator_for(key_type, key)
        if node is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        return ErrorCode.NONE if node.node_id == node_id else ErrorCode.NOT_COORDINATOR

    def _create_internal(self, name: str, partitions: int, rf_key: str) -> Topic | None:
        live = self.live_node_ids()
        if not live:
            return None
        # Kafka refuses to create these with fewer live brokers than the configured
        # replication factor (COORDINATOR_NOT_AVAILABLE until enough join); a test
        # cluster of one or two nodes caps it at the live nodes instead.
        rf = min(int(self.settings[rf_key]), len(live))
        configs = {"cleanup.policy": "compact", "compression.type": "producer"}
        if name == "__consumer_offsets":
            configs["segment.bytes"] = str(self.settings["offsets.topic.segment.bytes"])
        elif name == "__share_group_state":
            configs["segment.bytes"] = str(
                self.settings["share.coordinator.state.topic.segment.bytes"]
            )
            configs["min.insync.replicas"] = str(
                min(int(self.settings["share.coordinator.state.topic.min.isr"]), rf)
            )
        else:
            configs["segment.bytes"] = str(self.settings["transaction.state.log.segment.bytes"])
            configs["min.insync.replicas"] = str(
                min(int(self.settings["transaction.state.log.min.isr"]), rf)
            )
        return self.topic_service.create(TopicSpec(name, partitions, rf, None, configs))

    @property
    def cluster_id(self) -> str:
        """Return the cluster id reported to clients."""
        return str(self.settings["streamtest.cluster.id"])

    @property
    def bootstrap_servers(self) -> str:
        """Return every node's address, comma-separated (after :meth:`start`)."""
        return ",".join(self.nodes[i].address for i in self.node_ids())

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Bind every node's listener and start the timers.

        Raises:
            OSError: a listener could not bind (the others are closed again).
        """
        try:
            for node in self.nodes.values():
                await node.listen(self)
        except OSError:
            for node in self.nodes.values():
                await node.close()
            raise
        if self._control_port is not None:
            endpoint = ControlEndpoint(self, "127.0.0.1", self._control_port)
            try:
                await endpoint.start()
            except OSError:
                for node in self.nodes.values():
                    await node.close()
                raise
            self.control_endpoint = endpoint
        for node in self.nodes.values():
            if node.running:
                node.logs.start()
        self.groups.start()
        self.shares.start()
        self.transactions.start()
        self.replicas.start(self.topics.partitions)
        from .warmup import warm_up

        self._warmup = asyncio.get_running_loop().create_task(warm_up(lambda: self.last_activity))

    async def stop(self) -> None:
        """Close every node and connection, stop the timers and flush storage."""
        if self._warmup is not None:
            self._warmup.cancel()
        if self.control_endpoint is not None:
            await self.control_endpoint.stop()
            self.control_endpoint = None
        self.transactions.close()
        self.shares.stop()
        self.groups.stop()
        self.replicas.stop()
        for node in self.nodes.values():
            await node.close()
        for partition in self.topics.partitions():
            self.replicas.snapshot_states(partition)
        for node in self.nodes.values():
            if node.running:  # a stopped node's logs were shut down with it
                self.shutdown_node_storage(node)
        if self.storage is not None:
            self.storage.close()
        if self.metrics is not None:
            self.metrics.close()

    def connection_closed(self, connection_id: int) -> None:
        """Tell interested parties (the group coordinator) that a connection ended."""
        for fn in self.close_listeners:
            fn(connection_id)

    # -- convenience ------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        configs: Mapping[str, str] | None = None,
        replication_factor: int | None = None,
    ) -> Topic:
        """Create a topic (the broker defaults for what is not given); return it.

        Raises:
            TopicError: Kafka's refusal (name, partitions, replication factor, configs).
        """
        return self.topic_service.create(
            TopicSpec(
                name,
                partitions if partitions else -1,
                replication_factor if replication_factor else -1,
                None,
                dict(configs or {}),
            )
        )

    def describe(self) -> dict[str, Any]:
        """Return the nodes and partition leadership as plain data (for tools)."""
        return {
            "cluster_id": self.cluster_id,
            "controller": self.controller_id,
            "nodes": [
                {
                    "id": n.node_id,
                    "address": n.address,
                    "state": n.state.value,
                    "isolated": n.isolated_since_ms is not None,
                }
                for n in self.nodes.values()
            ],
            "topics": {
                t.name: [
                    {
                        "partition": p.index,
                        "leader": p.leader,
                        "leader_epoch": p.leader_epoch,
                        "replicas": list(p.replicas),
                        "isr": list(p.isr),
                    }
                    for p in t.partitions
                ]
                for t in self.topics
            },
        }
