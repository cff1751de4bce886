"""The broker: cluster state, control hooks and the listening socket, on one loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from . import apis  # noqa: F401  (registers every API handler)
from .dispatch import ControlHooks
from .groups import GroupCoordinator
from .state.cluster import BrokerConfig, ClusterState
from .state.producers import ProducerStateManager
from .txn import TransactionCoordinator

if TYPE_CHECKING:
    from .metrics import BrokerMetrics
    from .server import KafkaProtocol

log = logging.getLogger("streamtest.broker")


class Broker:
    """A single-node Kafka-compatible broker running on the current event loop.

    Everything it owns is touched only from that loop.

    Args:
        config: broker settings.
        data_dir: where to persist the log; ``None`` keeps everything in memory.
    """

    def __init__(self, config: BrokerConfig | None = None, data_dir: str | Path | None = None):
        self.config = config or BrokerConfig()
        storage = None
        if data_dir is not None:
            from .storage.disk import DiskStorage

            storage = DiskStorage(Path(data_dir))
        self.state = ClusterState(self.config, storage)
        self.hooks = ControlHooks()
        self.producers = ProducerStateManager(storage)
        for log_ in self.state.iter_logs():
            # Producer sequences, open and aborted transactions come back from the log.
            self.producers.rebuild_from_log(log_)
        self.connections: set[KafkaProtocol] = set()
        self._server: asyncio.base_events.Server | None = None
        self._warmup: asyncio.Task[None] | None = None
        #: ``time.monotonic()`` of the latest request (the warm-up waits for quiet).
        self.last_activity = 0.0
        #: Called with a connection id when that connection closes (groups use it).
        self.close_listeners: list[Callable[[int], None]] = []
        #: Consumer groups and committed offsets (issue 3).
        self.groups = GroupCoordinator(self)
        #: The transaction coordinator (KIP-98); loads its persisted state. Keep it after
        #: the group coordinator: finishing a transaction that was left in PrepareCommit
        #: hands its offsets to the groups.
        self.transactions = TransactionCoordinator(self)
        #: Prometheus metrics (``metrics.enable_metrics``); ``None`` while they are off.
        self.metrics: BrokerMetrics | None = None

    @property
    def host(self) -> str:
        """Return the host clients are told to connect to."""
        return self.config.advertised_host or self.config.host

    @property
    def port(self) -> int:
        """Return the port the broker listens on (after :meth:`start`)."""
        return self.state.advertised_port

    async def start(self) -> None:
        """Bind the listening socket and start serving."""
        from .server import KafkaProtocol

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: KafkaProtocol(self),
            self.config.host,
            self.config.port,
            reuse_address=True,
            backlog=512,
        )
        sock = self._server.sockets[0]
        self.state.advertised_port = sock.getsockname()[1]
        self.groups.start()
        self.transactions.start()
        from .warmup import warm_up

        self._warmup = loop.create_task(warm_up(lambda: self.last_activity))
        log.info("broker listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening, close every connection and flush storage."""
        if self._warmup is not None:
            self._warmup.cancel()
        self.transactions.close()
        self.groups.stop()
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self.state.storage is not None:
            self.state.storage.close()
        if self.metrics is not None:
            self.metrics.close()

    def connection_closed(self, connection_id: int) -> None:
        """Tell interested parties (the group coordinator) that a connection ended."""
        for fn in self.close_listeners:
            fn(connection_id)
