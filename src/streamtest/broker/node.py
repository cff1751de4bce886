"""One node of the logical cluster: an id, a listener and its client connections.

Kafka clients see each node as a broker with its own address. Here every node
shares the cluster's event loop and state; what a node owns is its listening
socket, the connections accepted on it, its storage (a filesystem and the log
manager of the replica logs on it) and whether it is up. Stopping a node closes
the first two and shuts its logs down, so clients fail over exactly as they
would when a broker dies, and its replicas really miss what follows.

A node also owns what a Kafka broker keeps per listener and per broker: the
request scheduler that serves its connections fairly and bounds what they buffer
(``server.py``), and the rate sensors that enforce the cluster's client quotas on
the clients it serves (``quotas.NodeQuotas``). Both start fresh when the node
(re)starts listening, as a restarted broker's do.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cluster import Cluster
    from .log import LogManager
    from .quotas import NodeQuotas
    from .server import KafkaProtocol, RequestScheduler
    from .storage.fs import FileSystem

log = logging.getLogger("streamtest.broker")


class NodeState(enum.Enum):
    """Whether a node is part of the cluster and serves clients.

    A node is RUNNING from the start (a cluster that is built but not yet
    listening already places replicas on it); STOPPED after ``stop_node``.
    """

    RUNNING = "running"
    STOPPED = "stopped"


class Node:
    """A node: ``node_id`` listening on ``host:port``.

    Args:
        node_id: Kafka's ``node.id``.
        host: interface to bind.
        port: port to bind (0 picks a free one; the bound port is kept, so a
            restarted node comes back on the same address).
        advertised_host: the host clients are told to connect to.
        rack: ``broker.rack``, or ``None``.
    """

    #: The listener's request scheduler (see :meth:`start_services`).
    scheduler: RequestScheduler
    #: The node's quota sensors (see :meth:`start_services`).
    quotas: NodeQuotas

    def __init__(
        self,
        node_id: int,
        host: str,
        port: int,
        advertised_host: str | None = None,
        rack: str | None = None,
    ) -> None:
        self.node_id = node_id
        self.host = host
        self.port = port
        self.advertised_host = advertised_host or host
        self.rack = rack
        self.state = NodeState.RUNNING
        #: When the node was cut off from the other nodes (``isolate_node``), or None.
        self.isolated_since_ms: int | None = None
        #: When the node crashed (``kill_node``), or None: it stays registered for
        #: ``broker.session.timeout.ms`` after (``services.nodes.broker_entries``).
        self.crashed_at_ms: int | None = None
        self.connections: set[KafkaProtocol] = set()
        self._server: asyncio.base_events.Server | None = None
        #: The node's storage: its filesystem (its own directory of the data dir,
        #: or memory) and the log manager of the replica logs on it. Set by the
        #: cluster; a restart gives it a new log manager on the same filesystem.
        self.fs: FileSystem | None = None
        self.logs: LogManager = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Node {self.node_id} {self.advertised_host}:{self.port} {self.state.value}>"

    @property
    def running(self) -> bool:
        """Return whether the node is up (it serves clients once listening)."""
        return self.state is NodeState.RUNNING

    @property
    def listening(self) -> bool:
        """Return whether the node's listener is open."""
        return self._server is not None

    @property
    def address(self) -> str:
        """Return ``host:port`` as clients use it."""
        return f"{self.advertised_host}:{self.port}"

    def start_services(self, cluster: Cluster) -> None:
        """Give the node a fresh request scheduler and fresh quota sensors.

        The cluster calls this when it creates its nodes, so a request dispatched
        to a node in process (tests, the control plane) finds them, and
        :meth:`listen` calls it again: a restarted node forgets what it measured,
        as a restarted Kafka broker does.
        """
        from .quotas import NodeQuotas
        from .server import RequestScheduler, ServerLimits

        self.scheduler = RequestScheduler(
            ServerLimits.from_settings(cluster.settings), cluster.settings, cluster.clock
        )
        self.quotas = NodeQuotas(cluster.quotas, cluster.settings, cluster.clock)

    async def listen(self, cluster: Cluster) -> None:
        """Bind the listener and start serving.

        Raises:
            OSError: the address cannot be bound.
        """
        from .server import KafkaProtocol

        self.start_services(cluster)
        scheduler = self.scheduler
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: KafkaProtocol(cluster, self, scheduler),
            self.host,
            self.port,
            reuse_address=True,
            backlog=512,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self.state = NodeState.RUNNING
        log.info("node %d listening on %s", self.node_id, self.address)

    async def close(self, drain: float = 0.0) -> None:
        """Stop listening and drop every connection (clients see the node die).

        With ``drain`` (seconds), connections already open are served that much
        longer before they are dropped, as a broker's socket server is the last
        thing to stop in Kafka's controlled shutdown: a client that sends during
        that time learns the partition's new leader from NOT_LEADER_OR_FOLLOWER
        (KIP-951) instead of waiting for a metadata refresh. The listener closes
        at once either way.
        """
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if drain > 0:
            doomed = list(self.connections)
            asyncio.get_running_loop().call_later(drain, _abort_all, doomed)
            return
        for conn in list(self.connections):
            conn.abort()
        if server is not None:
            await server.wait_closed()


def _abort_all(connections: list[KafkaProtocol]) -> None:
    for conn in connections:
        conn.abort()
