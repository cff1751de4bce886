"""``EmbeddedKafka``: the embedded broker, started in a thread or a child process.

Thread mode runs the broker's event loop in a daemon thread of the calling
process: it starts in about a millisecond and shares nothing but the loop. Process
mode runs the same broker in a child Python process, with its own GIL, so a busy
test process does not slow the broker down; the child exits when the parent dies,
even by SIGKILL (it watches its stdin pipe and sets PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Literal, TypeVar

from .broker import inspect
from .types import KafkaRecord

T = TypeVar("T")

Mode = Literal["thread", "process"]


class BrokerStartError(RuntimeError):
    """The embedded broker could not start (for example, the port is taken)."""


class EmbeddedKafka:
    """A Kafka-compatible cluster for tests, on loopback, in milliseconds.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with EmbeddedKafka() as kafka:
            producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})

    Args:
        host: interface to bind (loopback by default).
        port: port of the first node; node ``i`` binds ``port + i`` (0: free ports).
        partitions: partitions of auto-created topics (``num.partitions``).
        auto_create_topics: create unknown topics on Metadata requests
            (``auto.create.topics.enable``).
        mode: ``"thread"`` (default) or ``"process"``.
        data_dir: persist the cluster there (survives restarts and SIGKILL); ``None``
            keeps everything in memory.
        brokers: number of nodes (ids 0..N-1).
        settings: broker settings in Kafka's names, e.g.
            ``{"group.initial.rebalance.delay.ms": 0, "log.retention.ms": 60000}``
            (see ``streamtest.broker.config`` for the table and defaults).
        clock: ``"real"`` (default) or ``"manual"``: then time moves only with
            :meth:`advance`, for retention, session and transaction timeouts and
            delayed operations without sleeping.
        advertised_host: the host clients are told to connect to.

    Raises:
        ConfigError: a setting is unknown or has an invalid value.
        ValueError: a bad mode, partition count, broker count or clock.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        partitions: int = 1,
        auto_create_topics: bool = True,
        mode: Mode = "thread",
        data_dir: str | os.PathLike[str] | None = None,
        *,
        brokers: int = 1,
        settings: Mapping[str, object] | None = None,
        clock: str = "real",
        advertised_host: str | None = None,
    ) -> None:
        from .broker.config import BrokerSettings

        if mode not in ("thread", "process"):
            raise ValueError(f"mode must be 'thread' or 'process', not {mode!r}")
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, not {partitions}")
        if brokers < 1:
            raise ValueError(f"brokers must be at least 1, not {brokers}")
        if clock not in ("real", "manual"):
            raise ValueError(f"clock must be 'real' or 'manual', not {clock!r}")
        self.host = host
        self.port = port
        self.partitions = partitions
        self.auto_create_topics = auto_create_topics
        self.mode: Mode = mode
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.brokers = brokers
        self.clock = clock
        self.advertised_host = advertised_host
        merged: dict[str, object] = {
            "num.partitions": partitions,
            "auto.create.topics.enable": auto_create_topics,
            **(settings or {}),
        }
        # Validate now, in the caller's process, so a typo fails at construction.
        self.settings = BrokerSettings(merged).overrides()
        self._impl: _ThreadRunner | _ProcessRunner | None = None
        self._ports: list[int] = []

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> EmbeddedKafka:
        """Start the cluster and return once every node is listening.

        Raises:
            BrokerStartError: a node could not bind, or the data dir is unusable.
            RuntimeError: it is already running.
        """
        if self._impl is not None:
            raise RuntimeError("EmbeddedKafka is already running")
        runner: _ThreadRunner | _ProcessRunner
        if self.mode == "thread":
            runner = _ThreadRunner(self._cluster_kwargs())
        else:
            runner = _ProcessRunner(self._cli_args())
        runner.start()
        self._impl = runner
        self._ports = list(runner.ports)
        self.port = self._ports[0]
        return self

    def stop(self) -> None:
        """Stop the cluster; calling it again is a no-op."""
        impl, self._impl = self._impl, None
        if impl is not None:
            impl.stop()

    def __enter__(self) -> EmbeddedKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Return whether the cluster is running."""
        return self._impl is not None

    @property
    def bootstrap_servers(self) -> str:
        """Return every node's ``host:port``, comma-separated, for ``bootstrap.servers``."""
        self._require()
        host = self.advertised_host or self.host
        return ",".join(f"{host}:{p}" for p in self._ports)

    @property
    def node_ids(self) -> list[int]:
        """Return the ids of the cluster's nodes."""
        self._require()
        return list(range(len(self._ports)))

    def advance(self, seconds: float) -> None:
        """Move the manual clock forward, firing every timer that falls due
        (retention, session and transaction timeouts, delayed fetches).

        Raises:
            RuntimeError: the cluster does not run on the manual clock.
            ValueError: ``seconds`` is negative.
        """
        if self.clock != "manual":
            raise RuntimeError("advance() needs EmbeddedKafka(clock='manual')")
        self._require().advance(seconds)

    # -- inspection (no consumer needed) ----------------------------------------

    def topics(self) -> list[str]:
        """Return the names of all topics, sorted."""
        return self._require().topics()

    def records(
        self, topic: str, partition: int | None = None, *, read_committed: bool = False
    ) -> list[KafkaRecord]:
        """Return every readable record of ``topic`` (or of one partition), ordered by
        partition then offset, with key, value, headers and timestamp.

        ``read_committed=True`` shows what a read_committed consumer would see: no
        records of aborted or still-open transactions.

        Raises:
            KeyError: the topic (or partition) does not exist.
        """
        return self._require().records(topic, partition, read_committed)

    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        config: dict[str, str] | None = None,
        replication_factor: int | None = None,
    ) -> None:
        """Create a topic directly (no admin client needed).

        Raises:
            ValueError: the name is illegal, the topic exists, a config is invalid
                or the replication factor exceeds the live nodes.
        """
        self._require().create_topic(name, partitions, config, replication_factor)

    @property
    def cluster(self) -> Any:
        """Return the in-process ``Cluster`` (thread mode only).

        Raises:
            RuntimeError: in process mode, where the cluster lives in another process.
        """
        impl = self._require()
        if not isinstance(impl, _ThreadRunner):
            raise RuntimeError("the Cluster object is only reachable in thread mode")
        return impl.cluster

    #: The wave-1 name of :attr:`cluster`.
    broker = cluster

    def call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(cluster)`` on the cluster's event loop and return its result
        (thread mode only): the safe way to read or change cluster state."""
        impl = self._require()
        if not isinstance(impl, _ThreadRunner):
            raise RuntimeError("call() is only available in thread mode")
        return impl.call(lambda: fn(impl.cluster))

    # -- helpers -----------------------------------------------------------------

    def _require(self) -> _ThreadRunner | _ProcessRunner:
        if self._impl is None:
            raise RuntimeError("EmbeddedKafka is not running; call start() first")
        return self._impl

    def _cluster_kwargs(self) -> dict[str, Any]:
        return {
            "brokers": self.brokers,
            "settings": self.settings,
            "clock": self.clock,
            "host": self.host,
            "port": self.port,
            "advertised_host": self.advertised_host,
            "data_dir": self.data_dir,
        }

    def _cli_args(self) -> list[str]:
        args = ["--host", self.host, "--port", str(self.port), "--brokers", str(self.brokers)]
        args += ["--clock", self.clock]
        if self.advertised_host:
            args += ["--advertised-host", self.advertised_host]
        if self.data_dir is not None:
            args += ["--data-dir", str(self.data_dir)]
        for key, value in self.settings.items():
            args += ["--setting", f"{key}={value}"]
        return args

    def __repr__(self) -> str:
        state = self.bootstrap_servers if self.running else "stopped"
        return f"<EmbeddedKafka {self.mode} {state}>"


def _to_records(rows: list[dict[str, Any]]) -> list[KafkaRecord]:
    return [
        KafkaRecord(
            r["topic"],
            r["partition"],
            r["offset"],
            r["timestamp"],
            r["key"],
            r["value"],
            r["headers"],
        )
        for r in rows
    ]


# -- thread mode ---------------------------------------------------------------------


class _ThreadRunner:
    """Runs a ``Cluster`` on an event loop in a daemon thread."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cluster: Any = None
        self.ports: list[int] = []
        self._thread: threading.Thread | None = None
        self._ready: Future[None] = Future()
        self._stopped: asyncio.Event | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="streamtest-broker", daemon=True)
        self._thread.start()
        try:
            self._ready.result(timeout=30)
        except Exception as exc:
            self._thread.join(timeout=5)
            raise BrokerStartError(f"embedded broker failed to start: {exc}") from exc
        self.ports = [self.cluster.nodes[i].port for i in self.cluster.node_ids()]

    def _run(self) -> None:
        from .broker.cluster import Cluster

        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)

        async def main() -> None:
            self._stopped = asyncio.Event()
            try:
                self.cluster = Cluster(**self.kwargs)
                await self.cluster.start()
            except BaseException as exc:
                self._ready.set_exception(exc)
                return
            self._ready.set_result(None)
            await self._stopped.wait()
            await self.cluster.stop()

        try:
            loop.run_until_complete(main())
            # Let cancelled connection tasks finish, then close cleanly.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            loop.close()

    def call(self, fn: Callable[[], T]) -> T:
        assert self.loop is not None
        fut: Future[T] = Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return fut.result(timeout=30)

    def stop(self) -> None:
        if self.loop is not None and self._stopped is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._stopped.set)
            except RuntimeError:
                pass  # loop already closed
        if self._thread is not None:
            self._thread.join(timeout=10)

    def topics(self) -> list[str]:
        return self.call(lambda: inspect.topic_names(self.cluster))

    def records(self, topic: str, partition: int | None, read_committed: bool) -> list[KafkaRecord]:
        rows = self.call(lambda: inspect.records(self.cluster, topic, partition, read_committed))
        return _to_records(rows)

    def create_topic(
        self,
        name: str,
        partitions: int | None,
        config: dict[str, str] | None,
        replication_factor: int | None,
    ) -> None:
        self.call(
            lambda: inspect.create_topic(self.cluster, name, partitions, config, replication_factor)
        )

    def advance(self, seconds: float) -> None:
        self.call(lambda: self.cluster.clock.advance(seconds))


# -- process mode --------------------------------------------------------------------


class _ProcessRunner:
    """Runs the broker in a child process and talks to it over JSON lines on stdio."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.ports: list[int] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        cmd = [sys.executable, "-m", "streamtest.broker.child", *self.args]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            bufsize=1,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(timeout=10)
            raise BrokerStartError(f"broker process exited with status {code} before it was ready")
        msg = json.loads(line)
        if "error" in msg:
            self.proc.wait(timeout=10)
            raise BrokerStartError(msg["error"])
        self.ports = [int(p) for p in msg["ports"]]

    def _rpc(self, request: dict[str, Any]) -> Any:
        assert (
            self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        )
        with self._lock:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("broker process exited")
        reply = json.loads(line)
        if "error" in reply:
            raise _ERRORS.get(reply.get("type", ""), RuntimeError)(reply["error"])
        return reply["result"]

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # EOF tells the child to shut down cleanly
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def topics(self) -> list[str]:
        return list(self._rpc({"op": "topics"}))

    def records(self, topic: str, partition: int | None, read_committed: bool) -> list[KafkaRecord]:
        rows = self._rpc(
            {
                "op": "records",
                "topic": topic,
                "partition": partition,
                "read_committed": read_committed,
            }
        )
        return [KafkaRecord.from_json(r) for r in rows]

    def create_topic(
        self,
        name: str,
        partitions: int | None,
        config: dict[str, str] | None,
        replication_factor: int | None,
    ) -> None:
        self._rpc(
            {
                "op": "create_topic",
                "name": name,
                "partitions": partitions,
                "config": config,
                "replication_factor": replication_factor,
            }
        )

    def advance(self, seconds: float) -> None:
        self._rpc({"op": "advance", "seconds": seconds})


_ERRORS: dict[str, type[Exception]] = {"KeyError": KeyError, "ValueError": ValueError}
