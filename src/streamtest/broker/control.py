"""Cluster operations for tests: stop, kill, restart and isolate nodes; move leaders.

These are what a chaos test does to a real cluster, applied to the logical one,
with Kafka's consequences (see ``replication.py``). Each operation returns once
the cluster reflects it: a stopped node's listener is closed and its replicas
have left every ISR, a restarted node has caught up and rejoined.

:class:`ClusterControl` runs on the cluster's event loop. ``EmbeddedKafka``
exposes the same operations in thread mode (through its loop) and in process
mode (through the child's control channel), and ``streamtest cluster`` reaches
them through the control endpoint of a running ``streamtest broker``.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

from .node import Node, NodeState
from .topics import NO_LEADER, Partition

if TYPE_CHECKING:
    from .cluster import Cluster

log = logging.getLogger("streamtest.broker.control")


class ControlError(ValueError):
    """A control operation that cannot be done (unknown node, not a replica, ...)."""


class ClusterControl:
    """The node and leadership operations of one cluster.

    Args:
        cluster: the cluster it operates on.
    """

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._rng = random.Random(0)

    def _node(self, node_id: int) -> Node:
        node = self.cluster.nodes.get(node_id)
        if node is None:
            raise ControlError(f"no node {node_id} (nodes: {self.cluster.node_ids()})")
        return node

    def _partitions_on(self, node_id: int) -> list[Partition]:
        return [p for p in self.cluster.topics.partitions() if node_id in p.replicas]

    def _partition(self, topic: str, partition: int) -> Partition:
        found = self.cluster.topics.partition(topic, partition)
        if found is None:
            raise ControlError(f"no partition {topic}-{partition}")
        return found

    # -- nodes ---------------------------------------------------------------------------

    async def stop_node(self, node_id: int, *, drain: bool = True) -> None:
        """Shut a node down cleanly, as Kafka's controlled shutdown does: the
        partitions it led elect new leaders and its replicas leave every ISR, its
        listener closes, and the connections it still has are served
        ``streamtest.controlled.shutdown.drain.ms`` longer (answering
        NOT_LEADER_OR_FOLLOWER with the new leader) before they are dropped. Its
        logs are flushed, checkpointed and closed.

        Raises:
            ControlError: no such node.
        """
        node = self._node(node_id)
        if node.state is NodeState.STOPPED:
            return
        await self._take_down(node, grace=self._drain_seconds() if drain else 0.0)
        for partition in self._partitions_on(node_id):
            # Producer snapshots at the log end: the restart replays nothing.
            self.cluster.replicas.snapshot_states(partition, node_id)
        self.cluster.shutdown_node_storage(node)
        log.info("node %d stopped", node_id)

    def _drain_seconds(self) -> float:
        return int(self.cluster.settings["streamtest.controlled.shutdown.drain.ms"]) / 1000

    async def _take_down(self, node: Node, grace: float) -> None:
        """Mark ``node`` stopped, move its leaderships and ISR places away, and
        close its listener (serving open connections ``grace`` seconds longer)."""
        node.state = NodeState.STOPPED
        replicas = self.cluster.replicas
        for partition in self._partitions_on(node.node_id):
            replicas.remove_from_isr(partition, node.node_id)
            if partition.leader == node.node_id:
                replicas.elect(partition)
        self.cluster.quorum.nodes_changed()
        await node.close(grace)

    async def kill_node(self, node_id: int) -> None:
        """Crash a node: its connections drop at once, nobody is told, and every
        replica on it loses what was not flushed (fsynced) to its filesystem, as a
        power cut would; the next start recovers its logs from the checkpoints.

        Raises:
            ControlError: no such node.
        """
        node = self._node(node_id)
        if node.state is NodeState.STOPPED:
            return
        await self._take_down(node, grace=0.0)
        node.crashed_at_ms = self.cluster.clock.now_ms()
        node.logs.abandon()
        if node.fs is not None:
            node.fs.crash()
        log.info("node %d killed", node_id)

    async def start_node(self, node_id: int) -> None:
        """Bring a stopped or killed node back on its address: its logs are
        recovered from its filesystem, it catches up, rejoins the ISRs, and leads
        again where a partition was waiting for it.

        Raises:
            ControlError: no such node.
            OSError: its address cannot be bound again, or its logs cannot be read.
        """
        node = self._node(node_id)
        if node.state is NodeState.RUNNING and node.listening:
            return
        cluster = self.cluster
        if node.state is NodeState.STOPPED:
            loaded = cluster.open_node_storage(node)
            mine = self._partitions_on(node_id)
            for partition in mine:
                replica = loaded.pop((partition.topic, partition.index), None)
                if replica is None:
                    topic = cluster.topics.get(partition.topic)
                    replica = node.logs.get_or_create(
                        partition.topic, partition.index, topic.configs if topic else None
                    )
                partition.logs[node_id] = replica
                cluster.replicas.recover(partition, node_id)
            for topic_name, index in loaded:
                # A replica deleted or moved away while the node was down.
                node.logs.delete(topic_name, index)
            node.logs.start()
        node.state = NodeState.RUNNING
        node.crashed_at_ms = None
        await node.listen(cluster)
        self._rejoin(node_id)
        cluster.resume_reassignments()
        cluster.quorum.nodes_changed()
        log.info("node %d started", node_id)

    def isolate_node(self, node_id: int) -> None:
        """Cut a node off from the others while it keeps serving clients: its
        followers fall behind and, after ``replica.lag.time.max.ms``, it loses the
        leadership of its partitions.

        Raises:
            ControlError: no such node.
        """
        node = self._node(node_id)
        if node.isolated_since_ms is None:
            node.isolated_since_ms = self.cluster.clock.now_ms()
            log.info("node %d isolated", node_id)

    def reconnect_node(self, node_id: int) -> None:
        """Undo :meth:`isolate_node`: the node catches up and rejoins the ISRs.

        Raises:
            ControlError: no such node.
        """
        node = self._node(node_id)
        if node.isolated_since_ms is not None:
            node.isolated_since_ms = None
            self._rejoin(node_id)
            log.info("node %d reconnected", node_id)

    def _rejoin(self, node_id: int) -> None:
        replicas = self.cluster.replicas
        for partition in self._partitions_on(node_id):
            if partition.leader == NO_LEADER:
                replicas.elect(partition)
            elif partition.leader != node_id:
                replicas.catch_up(partition, node_id)
            else:
                # It led while cut off; the others may have moved on without it.
                for f in partition.replicas:
                    if f != node_id:
                        replicas.catch_up(partition, f)

    async def add_node(self) -> int:
        """Add a node (the next free id) and return its id. No partition moves to it
        until a reassignment or a new topic places replicas there."""
        cluster = self.cluster
        node_id = max(cluster.nodes) + 1
        first = cluster.nodes[min(cluster.nodes)]
        node = Node(node_id, cluster.host, 0, first.advertised_host)
        cluster.open_node_storage(node)
        node.logs.start()
        cluster.nodes[node_id] = node
        await node.listen(cluster)
        cluster.quorum.nodes_changed()
        log.info("node %d added at %s", node_id, node.address)
        return node_id

    async def remove_node(self, node_id: int) -> None:
        """Stop a node and take it out of the cluster. Each of its replicas moves
        to a live node that does not hold one yet (so replication factors hold),
        or is dropped when there is none.

        Raises:
            ControlError: no such node, or it is the last one.
        """
        self._node(node_id)
        if len(self.cluster.nodes) == 1:
            raise ControlError("cannot remove the last node of the cluster")
        await self.stop_node(node_id)
        for partition in self._partitions_on(node_id):
            spare = [
                n
                for n in self.cluster.live_node_ids()
                if n not in partition.replicas and n != node_id
            ]
            replacement = spare[0] if spare else None
            self.cluster.reassign(
                partition,
                [replacement if r == node_id else r for r in partition.replicas]
                if replacement is not None
                else [r for r in partition.replicas if r != node_id],
            )
        del self.cluster.nodes[node_id]
        self.cluster.quorum.nodes_changed()
        log.info("node %d removed", node_id)

    # -- leadership -----------------------------------------------------------------------

    def leader(self, topic: str, partition: int) -> int:
        """Return the node that leads ``topic``/``partition`` (-1: offline).

        Raises:
            ControlError: no such partition.
        """
        return self._partition(topic, partition).leader

    def move_leader(self, topic: str, partition: int, node_id: int) -> None:
        """Make ``node_id`` the leader of ``topic``/``partition``.

        Raises:
            ControlError: no such partition or node, or the node is not a live
                in-sync replica of it.
        """
        p = self._partition(topic, partition)
        self._node(node_id)
        if node_id not in p.replicas:
            raise ControlError(f"node {node_id} is not a replica of {topic}-{partition} "
                               f"(replicas {p.replicas})")
        if node_id not in self.cluster.replicas.candidates(p):
            raise ControlError(f"node {node_id} cannot lead {topic}-{partition}: it is not "
                               f"a live in-sync replica (isr {p.isr})")
        if p.leader != node_id:
            self.cluster.replicas.set_leader(p, node_id)

    def shuffle_leaders(self) -> int:
        """Move every partition with another live in-sync replica to a different
        leader, chosen at random; return how many moved."""
        moved = 0
        for p in self.cluster.topics.partitions():
            others = [r for r in self.cluster.replicas.candidates(p) if r != p.leader]
            if others:
                self.cluster.replicas.set_leader(p, self._rng.choice(others))
                moved += 1
        return moved

    def status(self) -> dict[str, Any]:
        """Return nodes, leaders, replicas and ISRs as plain data."""
        return self.cluster.describe()
