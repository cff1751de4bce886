"""``EmbeddedKafka``: the embedded broker, started in a thread or a child process.

Thread mode runs the broker's event loop in a daemon thread of the calling
process: it starts in about a millisecond and shares nothing but the loop. Process
mode runs the same broker in a child Python process, with its own GIL, so a busy
test process does not slow the broker down; the child exits when the parent dies,
even by SIGKILL (it watches its stdin pipe and sets PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from .faults import Faults, InterceptHandle
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
        control_port: also open the control endpoint that ``streamtest cluster``
            and :class:`streamtest.kit.control.ControlClient` use, on this loopback
            port (0: a free one); see :attr:`control_address`.
        schema_registry: also serve a Confluent-compatible schema registry (see
            :mod:`streamtest.registry`; needs the ``registry`` extra), at
            :attr:`schema_registry_url`. It keeps its schemas in the broker's
            ``_schemas`` topic, so with ``data_dir`` ids survive a restart.
        schema_registry_port: the registry's port; 0 picks a free one.
        metrics_port: serve Prometheus metrics of the whole cluster at
            ``http://<host>:<port>/metrics`` (0 picks a free port; see
            :attr:`metrics_url`); ``None`` (default) turns metrics off.

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
        control_port: int | None = None,
        schema_registry: bool = False,
        schema_registry_port: int = 0,
        metrics_port: int | None = None,
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
        self.control_port = control_port
        self.metrics_port = metrics_port
        merged: dict[str, object] = {
            "num.partitions": partitions,
            "auto.create.topics.enable": auto_create_topics,
            **(settings or {}),
        }
        # Validate now, in the caller's process, so a typo fails at construction.
        self.settings = BrokerSettings(merged).overrides()
        self.schema_registry = schema_registry
        self.schema_registry_port = schema_registry_port
        self._registry: Any = None  # thread mode: the SchemaRegistry
        self._registry_url: str | None = None
        self._impl: _ThreadRunner | _ProcessRunner | None = None
        self._ports: list[int] = []
        self._hooks: list[InterceptHandle] = []

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
            runner = _ThreadRunner(self._cluster_kwargs(), self.metrics_port)
        else:
            runner = _ProcessRunner(self._cli_args())
        runner.start()
        self._impl = runner
        self._ports = list(runner.ports)
        self.port = self._ports[0]
        if self.metrics_port is not None:
            self.metrics_port = runner.metrics_port
        if self.schema_registry:
            try:
                self._start_registry(runner)
            except BaseException:
                self.stop()
                raise
        return self

    def _start_registry(self, runner: _ThreadRunner | _ProcessRunner) -> None:
        if isinstance(runner, _ProcessRunner):
            self._registry_url = runner.schema_registry_url
            return
        # Thread mode: the registry runs beside the broker in this process, on its
        # own threads, and talks to the broker over the Kafka protocol like any
        # client. It binds at once and reads _schemas in the background.
        try:
            from .registry.server import SchemaRegistry
        except ImportError as exc:
            raise BrokerStartError(
                f"the schema registry needs the registry extra ({exc.name} is missing): "
                "pip install 'streamtest[registry]'"
            ) from exc
        try:
            self._registry = SchemaRegistry(
                self.bootstrap_servers, self.host, self.schema_registry_port
            ).start()
        except OSError as exc:
            raise BrokerStartError(f"the schema registry could not start: {exc}") from exc
        self._registry_url = self._registry.url

    def stop(self) -> None:
        """Stop the cluster; calling it again is a no-op.

        Raises:
            HookError: an intercept hook raised while the cluster ran (its
                exception is the ``__cause__``); the cluster is stopped anyway.
        """
        registry, self._registry = self._registry, None
        if registry is not None:
            registry.stop()
        self._registry_url = None
        impl, self._impl = self._impl, None
        if impl is not None:
            impl.stop()
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            hook.check()

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
    def control_address(self) -> str | None:
        """Return ``host:port`` of the control endpoint, or ``None`` without one."""
        return self._require().command("control_address")

    @property
    def metrics_url(self) -> str:
        """Return the URL of the Prometheus metrics endpoint.

        Raises:
            RuntimeError: the cluster is not running, or metrics are off.
        """
        self._require()
        if self.metrics_port is None:
            raise RuntimeError("metrics are off; pass EmbeddedKafka(metrics_port=0)")
        return f"http://{self.host}:{self.metrics_port}/metrics"

    @property
    def node_ids(self) -> list[int]:
        """Return the ids of the cluster's nodes."""
        return list(self._require().command("node_ids"))

    # -- cluster control ------------------------------------------------------------

    def stop_node(self, node_id: int) -> None:
        """Shut node ``node_id`` down cleanly: its connections close, its replicas
        leave every ISR and its partitions elect new leaders.

        Raises:
            ValueError: no such node.
        """
        self._require().command("stop_node", node_id=node_id)

    def kill_node(self, node_id: int) -> None:
        """Crash node ``node_id``: like :meth:`stop_node`, and what it had not
        flushed to disk is lost.

        Raises:
            ValueError: no such node.
        """
        self._require().command("kill_node", node_id=node_id)

    def start_node(self, node_id: int) -> None:
        """Restart a stopped or killed node on its address; it catches up and
        rejoins the ISRs.

        Raises:
            ValueError: no such node.
        """
        self._require().command("start_node", node_id=node_id)

    def isolate_node(self, node_id: int) -> None:
        """Cut node ``node_id`` off from the other nodes while it keeps serving
        clients; it loses leadership after ``replica.lag.time.max.ms``.

        Raises:
            ValueError: no such node.
        """
        self._require().command("isolate_node", node_id=node_id)

    def reconnect_node(self, node_id: int) -> None:
        """Undo :meth:`isolate_node`.

        Raises:
            ValueError: no such node.
        """
        self._require().command("reconnect_node", node_id=node_id)

    def add_node(self) -> int:
        """Add a node to the cluster; return its id."""
        node_id = int(self._require().command("add_node"))
        self._refresh_ports()
        return node_id

    def remove_node(self, node_id: int) -> None:
        """Stop node ``node_id`` and take it out of the cluster (its replicas move to
        other live nodes where there is room).

        Raises:
            ValueError: no such node, or it is the last one.
        """
        self._require().command("remove_node", node_id=node_id)
        self._refresh_ports()

    def leader(self, topic: str, partition: int) -> int:
        """Return the id of the node that leads ``topic``/``partition`` (-1: none).

        Raises:
            ValueError: no such partition.
        """
        return int(self._require().command("leader", topic=topic, partition=partition))

    def move_leader(self, topic: str, partition: int, node_id: int) -> None:
        """Make ``node_id`` the leader of ``topic``/``partition``.

        Raises:
            ValueError: no such partition, or the node is not a live in-sync replica.
        """
        self._require().command("move_leader", topic=topic, partition=partition, node_id=node_id)

    def shuffle_leaders(self) -> int:
        """Move every partition that can move to another in-sync replica; return how
        many moved."""
        return int(self._require().command("shuffle_leaders"))

    def cluster_status(self) -> dict[str, Any]:
        """Return the nodes and every partition's leader, replicas and ISR."""
        return dict(self._require().command("status"))

    @property
    def faults(self) -> Faults:
        """Return the cluster's fault table (see ``streamtest.faults``)."""
        return Faults(self._require())

    def intercept(
        self,
        api: int | None,
        fn: Callable[..., Any],
        when: str = "before",
        keep: bool = False,
        node: int | None = None,
    ) -> InterceptHandle:
        """Install an intercept hook on ``api`` (an ``ApiKey``; ``None`` for every API).

        ``fn(request)`` (``when="before"``) or ``fn(request, response)``
        (``"after"``) gets typed kio entities and returns ``None``, a replacement
        response, or a verdict from ``streamtest.faults``. In thread mode it runs
        on the broker's event loop (return ``Delay`` rather than blocking); in
        process mode, in a thread of this process.

        Raises:
            ValueError: ``when`` is not "before" or "after".
        """
        handle = self._require().add_hook(fn, None if api is None else int(api), when, keep, node)
        self._hooks.append(handle)
        return handle

    def _refresh_ports(self) -> None:
        status = self._require().command("status")
        self._ports = [int(n["address"].rsplit(":", 1)[1]) for n in status["nodes"]]

    def advance(self, seconds: float) -> None:
        """Move the manual clock forward, firing every timer that falls due
        (retention, session and transaction timeouts, delayed fetches).

        Raises:
            RuntimeError: the cluster does not run on the manual clock.
            ValueError: ``seconds`` is negative.
        """
        if self.clock != "manual":
            raise RuntimeError("advance() needs EmbeddedKafka(clock='manual')")
        self._require().command("advance", seconds=seconds)

    @property
    def schema_registry_url(self) -> str:
        """Return the schema registry's ``http://host:port`` (for
        ``schema.registry.url`` and ``SchemaRegistryClient({"url": ...})``).

        Raises:
            RuntimeError: not running, or started without ``schema_registry=True``.
        """
        self._require()
        if self._registry_url is None:
            raise RuntimeError("EmbeddedKafka was started without schema_registry=True")
        return self._registry_url

    # -- inspection (no consumer needed) ----------------------------------------

    def topics(self) -> list[str]:
        """Return the names of all topics, sorted."""
        return list(self._require().command("topics"))

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
        rows = self._require().command(
            "records", topic=topic, partition=partition, read_committed=read_committed
        )
        return _to_records(rows)

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
        self._require().command(
            "create_topic",
            name=name,
            partitions=partitions,
            config=config,
            replication_factor=replication_factor,
        )

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
            "control_port": self.control_port,
        }

    def _cli_args(self) -> list[str]:
        args = ["--host", self.host, "--port", str(self.port), "--brokers", str(self.brokers)]
        args += ["--clock", self.clock]
        if self.advertised_host:
            args += ["--advertised-host", self.advertised_host]
        if self.data_dir is not None:
            args += ["--data-dir", str(self.data_dir)]
        if self.control_port is not None:
            args += ["--control-port", str(self.control_port)]
        if self.metrics_port is not None:
            args += ["--metrics-port", str(self.metrics_port)]
        for key, value in self.settings.items():
            args += ["--setting", f"{key}={value}"]
        if self.schema_registry:
            args += ["--schema-registry-port", str(self.schema_registry_port)]
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

    def __init__(self, kwargs: dict[str, Any], metrics_port: int | None = None) -> None:
        self.kwargs = kwargs
        self.metrics_port = metrics_port
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
                if self.metrics_port is not None:
                    from .broker.metrics import enable_metrics

                    host = self.kwargs.get("host", "127.0.0.1")
                    self.metrics_port = enable_metrics(self.cluster, self.metrics_port, host).port
            except BaseException as exc:
                if self.cluster is not None:
                    await self.cluster.stop()  # e.g. the metrics port was taken
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

    def command(self, op: str, **args: Any) -> Any:
        """Run a control command (``broker/commands.py``) on the loop."""
        from .broker.commands import execute

        assert self.loop is not None
        fut = asyncio.run_coroutine_threadsafe(execute(self.cluster, op, args), self.loop)
        return fut.result(timeout=60)

    def add_hook(
        self, fn: Callable[..., Any], api: int | None, when: str, keep: bool, node: int | None
    ) -> InterceptHandle:
        from .broker.intercept import Interception

        hook = Interception(api, fn, when, keep, node)  # type: ignore[arg-type]
        self.call(lambda: self.cluster.interceptors.add(hook))
        return InterceptHandle(
            lambda: self.call(lambda: self.cluster.interceptors.remove(hook.hook_id)),
            lambda: hook.errors,
            lambda: hook.calls,
            fn,
        )

    def stop(self) -> None:
        if self.loop is not None and self._stopped is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._stopped.set)
            except RuntimeError:
                pass  # loop already closed
        if self._thread is not None:
            self._thread.join(timeout=10)


# -- process mode --------------------------------------------------------------------


class _ParentHook:
    """The parent's side of an intercept hook in process mode."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.errors: list[BaseException] = []
        self.calls = 0
        try:
            self.wants_info = "info" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            self.wants_info = False


class _ProcessRunner:
    """Runs the cluster in a child process; talks to it in frames on its stdio
    (``broker/ipc.py``)."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.ports: list[int] = []
        self.metrics_port: int | None = None
        self._writer: Any = None
        self._pending: dict[int, Future[Any]] = {}
        self._ids = itertools.count(1)
        self._hooks: dict[int, _ParentHook] = {}
        self._hook_ids = itertools.count(1)
        self._pool: ThreadPoolExecutor | None = None
        self._reader: threading.Thread | None = None
        self.schema_registry_url: str | None = None

    def start(self) -> None:
        from .broker.ipc import ChannelClosed, FrameWriter, read_frame

        cmd = [sys.executable, "-m", "streamtest.broker.child", *self.args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None and self.proc.stdin is not None
        try:
            msg = read_frame(self.proc.stdout)
        except (ChannelClosed, ValueError):
            code = self.proc.wait(timeout=10)
            raise BrokerStartError(
                f"broker process exited with status {code} before it was ready"
            ) from None
        if "error" in msg:
            self.proc.wait(timeout=10)
            raise BrokerStartError(msg["error"])
        self.ports = [int(p) for p in msg["ports"]]
        self.schema_registry_url = msg.get("schema_registry_url")
        self.metrics_port = msg.get("metrics_port")
        self._writer = FrameWriter(self.proc.stdin)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="streamtest-hook")
        self._reader = threading.Thread(target=self._read, name="streamtest-ipc", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        from .broker.ipc import ChannelClosed, read_frame

        assert self.proc is not None and self.proc.stdout is not None
        while True:
            try:
                msg = read_frame(self.proc.stdout)
            except (ChannelClosed, ValueError, OSError):
                break
            if "cb" in msg:
                assert self._pool is not None
                self._pool.submit(self._run_hook, msg)
                continue
            fut = self._pending.pop(msg["id"], None)
            if fut is None:
                continue
            if "error" in msg:
                kind, text = msg["error"]
                fut.set_exception(_ERRORS.get(kind, RuntimeError)(text))
            else:
                fut.set_result(msg.get("result"))
        for fut in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(RuntimeError("broker process exited"))
        self._pending.clear()

    def _run_hook(self, msg: dict[str, Any]) -> None:
        hook = self._hooks.get(msg["hook"])
        result = None
        if hook is not None:
            try:
                if hook.wants_info:
                    result = hook.fn(*msg["args"], info=msg["info"])
                else:
                    result = hook.fn(*msg["args"])
                if result is not None:
                    hook.calls += 1
            except Exception as exc:
                hook.errors.append(exc)
                result = None
        try:
            self._writer.send({"cb": msg["cb"], "result": result})
        except Exception:
            pass  # the child is gone; it lets the request through

    def command(self, op: str, **args: Any) -> Any:
        """Run a control command in the child and return its result.

        Raises:
            RuntimeError: the child exited.
        """
        if self._writer is None:
            raise RuntimeError("broker process is not running")
        request_id = next(self._ids)
        fut: Future[Any] = Future()
        self._pending[request_id] = fut
        try:
            self._writer.send({"id": request_id, "op": op, "args": args})
        except Exception as exc:
            self._pending.pop(request_id, None)
            raise RuntimeError("broker process exited") from exc
        return fut.result(timeout=60)

    def add_hook(
        self, fn: Callable[..., Any], api: int | None, when: str, keep: bool, node: int | None
    ) -> InterceptHandle:
        from .broker.intercept import Interception

        Interception(api, fn, when, keep, node)  # type: ignore[arg-type]  # validates
        hook_id = next(self._hook_ids)
        hook = self._hooks[hook_id] = _ParentHook(fn)
        self.command("add_hook", hook_id=hook_id, api=api, when=when, keep=keep, node=node)
        return InterceptHandle(
            lambda: self.command("remove_hook", hook_id=hook_id),
            lambda: hook.errors,
            lambda: hook.calls,
            fn,
        )

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
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)


_ERRORS: dict[str, type[Exception]] = {
    "KeyError": KeyError,
    "ValueError": ValueError,
    "ControlError": ValueError,
    "ConfigError": ValueError,
    "RuntimeError": RuntimeError,
}
