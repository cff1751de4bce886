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
from .node import Node
from .producers import ProducerIdManager, rebuild
from .quorum import MetadataQuorum
from .replication import ReplicaManager
from .services.configs import TopicDefaults
from .services.topics import TopicService, TopicSpec
from .state.log import PartitionLog
from .topics import Partition, Topic, TopicTable
from .txn import TransactionCoordinator

if TYPE_CHECKING:
    import uuid

    from .metrics import BrokerMetrics
    from .storage.disk import DiskStorage

log = logging.getLogger("streamtest.broker")
# One WARNING line per closed connection, at most ten every ten seconds
# (a misbehaving client can close thousands a second).
logfilter.install()

_PRODUCER_IDS = "producer_ids"
#: Storage namespace of the dynamic broker configs: level ("" or a node id) -> values.
_BROKER_CONFIGS = "broker_configs"
#: Internal topic, partition-count setting and replication-factor setting, by
#: FindCoordinator key type (0 groups, 1 transactions).
_INTERNAL = (
    ("__consumer_offsets", "offsets.topic.num.partitions", "offsets.topic.replication.factor"),
    (
        "__transaction_state",
        "transaction.state.log.num.partitions",
        "transaction.state.log.replication.factor",
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
    """Creates replica logs (in memory, journaled by the disk storage if any)."""

    def __init__(self, storage: DiskStorage | None) -> None:
        self.storage = storage

    def create(self, node_id: int, topic: str, topic_id: uuid.UUID, index: int) -> PartitionLog:
        return PartitionLog(topic, index)

    def delete(self, node_id: int, log: PartitionLog) -> None:
        log.batches.clear()


class _OffsetsTopic:
    """``__consumer_offsets`` as the group coordinator writes and reads it: records
    go to the group's partition through the normal append path (so they are
    replicated and persisted like any record)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def append(self, group_id: str, records: list[tuple[bytes, bytes | None]]) -> None:
        cluster = self.cluster
        partition = cluster.coordinator_partition(0, group_id)
        if partition is None or not partition.online:
            log.warning("__consumer_offsets is not available; group %r's change is not "
                        "recorded", group_id)
            return
        now = cluster.clock.now_ms()
        batch = build_batch(
            [RecordInput(key, value, timestamp=now) for key, value in records],
            base_offset=partition.log_end_offset,
            default_timestamp=now,
        )
        try:
            cluster.replicas.append_to_leader(partition, batch, parse_header(batch))
        except OSError as exc:
            log.error("writing group %r's change to __consumer_offsets failed: %s", group_id, exc)

    def replay(self) -> Iterator[tuple[bytes, bytes | None]]:
        topic = self.cluster.topics.get("__consumer_offsets")
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
        self.storage: DiskStorage | None = None
        if self.data_dir is not None:
            from .storage.disk import DiskStorage

            self.storage = DiskStorage(self.data_dir)
        if self.storage is not None and brokers > 1:
            raise ValueError(
                "a data dir with more than one broker needs the segmented log engine, "
                "which is not wired in yet; use brokers=1 with data_dir"
            )
        self._init_dynamic_configs()
        self.topics = TopicTable()
        self.replicas = ReplicaManager(
            self.clock,
            self,
            lambda: int(self.settings["replica.lag.time.max.ms"]),
            self._leader_changed,
            self.storage,
        )
        self.topic_service = TopicService(
            self.topics,
            TopicDefaults(self.settings),
            lambda name: int(self.settings[name]),
            self.live_node_ids,
            self.node_ids,
            _ReplicaLogs(self.storage),
            self.storage,
        )
        self.topic_service.on_partition.append(self.replicas.init_partition)
        #: The KRaft metadata quorum as DescribeQuorum reports it (``quorum.py``).
        self.quorum = MetadataQuorum(
            self.clock.now_ms,
            self.node_ids,
            self.live_node_ids,
            self.topics.partitions,
            lambda: len(self.topics),
        )
        self.topic_service.on_deleted.append(self.quorum.topic_deleted)
        self.topic_service.on_configs.append(lambda _topic: self.quorum.record())
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
        storage = self.storage
        self.producer_ids = ProducerIdManager(
            (lambda: storage.load_meta(_PRODUCER_IDS).get("block_end"))
            if storage
            else (lambda: None),
            (lambda end: storage.put_meta(_PRODUCER_IDS, "block_end", end))
            if storage
            else (lambda end: None),
        )
        self._restore()
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
        #: Consumer groups and committed offsets.
        self.groups = GroupCoordinator(
            self.settings, self.clock, self.topics, _OffsetsTopic(self)
        )
        self.topic_service.on_deleted.append(lambda t: self.groups.offsets.delete_topic(t.name))
        #: The transaction coordinator (KIP-98). Built after the groups: finishing a
        #: transaction left in PrepareCommit hands its offsets to them.
        self.transactions = TransactionCoordinator(
            self.settings,
            self.clock,
            self.producer_ids,
            self.topics,
            self.replicas,
            self.groups.commit_offsets_from_txn,
            self.storage,
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

    def _restore(self) -> None:
        if self.storage is None:
            return
        leader = min(self.nodes)
        for name, topic_id, configs, logs in self.storage.load_topics():
            topic = self.topic_service.restore(
                name, topic_id, configs, [([leader], {leader: log}) for log in logs]
            )
            for partition in topic.partitions:
                # Producer sequences, open and aborted transactions come back from the log.
                rebuild(partition, self.producer_ids, self.clock.now_ms())

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
        # A new leader's producer state is what its own log says (Kafka rebuilds it
        # from the log when a replica becomes leader).
        if partition.online:
            rebuild(partition, self.producer_ids, self.clock.now_ms())

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
            partition.epochs.pop(r, None)
        if self.storage is not None and topic is not None:
            self.storage.topic_changed(topic)

    def log_dir(self, node_id: int) -> str:
        """Return node ``node_id``'s log directory as tools see it (``log.dirs``,
        DescribeLogDirs): the data dir, or, for a cluster kept in memory, a
        ``memory://`` name (there is no directory, and the name says so)."""
        if self.data_dir is not None:
            return str(self.data_dir)
        return f"memory://streamtest/node-{node_id}"

    @property
    def controller_id(self) -> int:
        """Return the id of the active controller (the lowest live node id)."""
        live = self.live_node_ids()
        return live[0] if live else -1

    def coordinator_partition(self, key_type: int, key: str) -> Partition | None:
        """Return the internal-topic partition whose leader coordinates ``key``: the
        ``__consumer_offsets`` partition of a group (key_type 0, and 2 for share
        groups) or the ``__transaction_state`` partition of a transactional id
        (key_type 1), chosen as Kafka chooses it (``abs(key.hashCode()) % partitions``).
        The internal topic is created on first use, as Kafka creates it on the
        first FindCoordinator; ``None`` while it cannot be (no live node).
        """
        name, count_key, rf_key = _INTERNAL[1 if key_type == 1 else 0]
        topic = self.topics.get(name)
        if topic is None:
            topic = self._create_internal(name, int(self.settings[count_key]), rf_key)
            if topic is None:
                return None
        return topic.partitions[java_string_hash(key) % len(topic.partitions)]

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
        self.groups.start()
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
        self.groups.stop()
        self.replicas.stop()
        for node in self.nodes.values():
            await node.close()
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
