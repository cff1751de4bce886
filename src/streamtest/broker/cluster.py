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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import apis  # noqa: F401  (registers every API handler)
from .clock import Clock, make_clock
from .config import BrokerSettings
from .dispatch import ControlHooks
from .groups import GroupCoordinator
from .node import Node
from .producers import ProducerIdManager, rebuild
from .replication import ReplicaManager
from .services.configs import TopicDefaults
from .services.topics import TopicService, TopicSpec
from .state.log import PartitionLog
from .topics import Topic, TopicTable
from .txn import TransactionCoordinator

if TYPE_CHECKING:
    import uuid

    from .storage.disk import DiskStorage

log = logging.getLogger("streamtest.broker")

_PRODUCER_IDS = "producer_ids"


class _ReplicaLogs:
    """Creates replica logs (in memory, journaled by the disk storage if any)."""

    def __init__(self, storage: DiskStorage | None) -> None:
        self.storage = storage

    def create(self, node_id: int, topic: str, topic_id: uuid.UUID, index: int) -> PartitionLog:
        return PartitionLog(topic, index)

    def delete(self, node_id: int, log: PartitionLog) -> None:
        log.batches.clear()


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
        self.topics = TopicTable()
        self.replicas = ReplicaManager(self.storage)
        self.topic_service = TopicService(
            self.topics,
            TopicDefaults(self.settings),
            lambda name: int(self.settings[name]),
            self.live_node_ids,
            self.node_ids,
            _ReplicaLogs(self.storage),
            self.storage,
        )
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
        #: Test control hooks (kfake's ``ControlKey``).
        self.hooks = ControlHooks()
        #: ``clock.monotonic()`` of the latest request (the warm-up waits for quiet).
        self.last_activity = 0.0
        #: Called with a connection id when that connection closes (groups use it).
        self.close_listeners: list[Callable[[int], None]] = []
        #: Consumer groups and committed offsets.
        self.groups = GroupCoordinator(self.settings, self.clock, self.topics, self.storage)
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

    @property
    def controller_id(self) -> int:
        """Return the id of the active controller (the lowest live node id)."""
        live = self.live_node_ids()
        return live[0] if live else -1

    def coordinator_for(self, key_type: int, key: str) -> Node | None:
        """Return the node that coordinates group or transactional id ``key``
        (FindCoordinator ``key_type`` 0 or 1), or ``None`` if no node is up."""
        live = self.live_node_ids()
        return self.nodes[live[0]] if live else None

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
        self.groups.start()
        self.transactions.start()
        from .warmup import warm_up

        self._warmup = asyncio.get_running_loop().create_task(warm_up(lambda: self.last_activity))

    async def stop(self) -> None:
        """Close every node and connection, stop the timers and flush storage."""
        if self._warmup is not None:
            self._warmup.cancel()
        self.transactions.close()
        self.groups.stop()
        for node in self.nodes.values():
            await node.close()
        if self.storage is not None:
            self.storage.close()

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
                {"id": n.node_id, "address": n.address, "state": n.state.value}
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
