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
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Literal, TypeVar

from .types import KafkaRecord

T = TypeVar("T")

Mode = Literal["thread", "process"]


class BrokerStartError(RuntimeError):
    """The embedded broker could not start (for example, the port is taken)."""


class EmbeddedKafka:
    """A Kafka-compatible broker for tests, on loopback, in milliseconds.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with EmbeddedKafka() as kafka:
            producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})

    Args:
        host: interface to bind (loopback by default).
        port: port to bind; 0 picks a free one.
        partitions: partitions of auto-created topics.
        auto_create_topics: create unknown topics on Metadata requests.
        mode: ``"thread"`` (default) or ``"process"``.
        data_dir: persist the log there (survives restarts and SIGKILL); ``None``
            keeps everything in memory.
        metrics_port: serve Prometheus metrics at ``http://<host>:<port>/metrics``
            (0 picks a free port; see :attr:`metrics_url`); ``None`` (default) turns
            metrics off.
        **settings: further ``BrokerConfig`` fields, e.g.
            ``group_initial_rebalance_delay_ms``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        partitions: int = 1,
        auto_create_topics: bool = True,
        mode: Mode = "thread",
        data_dir: str | os.PathLike[str] | None = None,
        metrics_port: int | None = None,
        **settings: Any,
    ) -> None:
        if mode not in ("thread", "process"):
            raise ValueError(f"mode must be 'thread' or 'process', not {mode!r}")
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, not {partitions}")
        self.host = host
        self.port = port
        self.partitions = partitions
        self.auto_create_topics = auto_create_topics
        self.mode: Mode = mode
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.settings = settings
        self.metrics_port = metrics_port
        self._impl: _ThreadRunner | _ProcessRunner | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> EmbeddedKafka:
        """Start the broker and return once it is listening.

        Raises:
            BrokerStartError: the broker could not bind or start.
            RuntimeError: it is already running.
        """
        if self._impl is not None:
            raise RuntimeError("EmbeddedKafka is already running")
        runner: _ThreadRunner | _ProcessRunner
        if self.mode == "thread":
            runner = _ThreadRunner(self._broker_config(), self.data_dir, self.metrics_port)
        else:
            runner = _ProcessRunner(self._cli_args())
        runner.start()
        self._impl = runner
        self.port = runner.port
        if self.metrics_port is not None:
            self.metrics_port = runner.metrics_port
        return self

    def stop(self) -> None:
        """Stop the broker; calling it again is a no-op."""
        impl, self._impl = self._impl, None
        if impl is not None:
            impl.stop()

    def __enter__(self) -> EmbeddedKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Return whether the broker is running."""
        return self._impl is not None

    @property
    def bootstrap_servers(self) -> str:
        """Return ``"host:port"`` for clients' ``bootstrap.servers``."""
        self._require()
        return f"{self.host}:{self.port}"

    @property
    def metrics_url(self) -> str:
        """Return the URL of the Prometheus metrics endpoint.

        Raises:
            RuntimeError: the broker is not running, or metrics are off.
        """
        self._require()
        if self.metrics_port is None:
            raise RuntimeError("metrics are off; pass EmbeddedKafka(metrics_port=0)")
        return f"http://{self.host}:{self.metrics_port}/metrics"

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
        self, name: str, partitions: int | None = None, config: dict[str, str] | None = None
    ) -> None:
        """Create a topic directly (no admin client needed).

        Raises:
            ValueError: the name is illegal or the topic exists.
        """
        self._require().create_topic(name, partitions, config)

    @property
    def broker(self) -> Any:
        """Return the in-process ``Broker`` (thread mode only), for control hooks.

        Raises:
            RuntimeError: in process mode, where the broker lives in another process.
        """
        impl = self._require()
        if not isinstance(impl, _ThreadRunner):
            raise RuntimeError("the Broker object is only reachable in thread mode")
        return impl.broker

    def call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(broker)`` on the broker's event loop and return its result
        (thread mode only): the safe way to read or change broker state."""
        impl = self._require()
        if not isinstance(impl, _ThreadRunner):
            raise RuntimeError("call() is only available in thread mode")
        return impl.call(lambda: fn(impl.broker))

    # -- helpers -----------------------------------------------------------------

    def _require(self) -> _ThreadRunner | _ProcessRunner:
        if self._impl is None:
            raise RuntimeError("EmbeddedKafka is not running; call start() first")
        return self._impl

    def _broker_config(self) -> Any:
        from .broker.state.cluster import BrokerConfig

        return BrokerConfig(
            host=self.host,
            port=self.port,
            default_partitions=self.partitions,
            auto_create_topics=self.auto_create_topics,
            **self.settings,
        )

    def _cli_args(self) -> list[str]:
        args = ["--host", self.host, "--port", str(self.port), "--partitions", str(self.partitions)]
        if not self.auto_create_topics:
            args.append("--no-auto-create-topics")
        if self.data_dir is not None:
            args += ["--data-dir", str(self.data_dir)]
        if self.metrics_port is not None:
            args += ["--metrics-port", str(self.metrics_port)]
        for key, value in self.settings.items():
            args += ["--setting", f"{key}={json.dumps(value)}"]
        return args

    def __repr__(self) -> str:
        state = f"{self.host}:{self.port}" if self.running else "stopped"
        return f"<EmbeddedKafka {self.mode} {state}>"


# -- shared inspection logic (runs on the broker's loop) ---------------------------


def inspect_topics(broker: Any) -> list[str]:
    """Return sorted topic names of ``broker``."""
    return sorted(broker.state.topics)


def inspect_records(
    broker: Any, topic: str, partition: int | None, read_committed: bool = False
) -> list[KafkaRecord]:
    """Return decoded records of ``topic`` from ``broker``.

    Raises:
        KeyError: unknown topic or partition.
    """
    t = broker.state.topics.get(topic)
    if t is None:
        raise KeyError(f"unknown topic {topic!r}")
    logs = t.partitions
    if partition is not None:
        if not 0 <= partition < len(logs):
            raise KeyError(f"topic {topic!r} has no partition {partition}")
        logs = [logs[partition]]
    out = []
    for log in logs:
        for r in log.records(read_committed):
            out.append(
                KafkaRecord(
                    topic, log.index, r.offset, r.timestamp, r.key, r.value, list(r.headers)
                )
            )
    return out


def create_topic_direct(
    broker: Any, name: str, partitions: int | None, config: dict[str, str] | None
) -> None:
    """Create a topic on ``broker`` without the wire protocol.

    Raises:
        ValueError: the name is illegal, the topic exists, or a config is invalid.
    """
    from .broker.state.cluster import is_valid_topic_name
    from .broker.state.configs import validate_topic_config

    problem = is_valid_topic_name(name)
    if problem:
        raise ValueError(problem)
    if name in broker.state.topics:
        raise ValueError(f"Topic '{name}' already exists.")
    for k, v in (config or {}).items():
        problem = validate_topic_config(k, v)
        if problem:
            raise ValueError(problem)
    broker.state.create_topic(name, partitions, config)


# -- thread mode ---------------------------------------------------------------------


class _ThreadRunner:
    """Runs a ``Broker`` on an event loop in a daemon thread."""

    def __init__(self, config: Any, data_dir: Path | None, metrics_port: int | None) -> None:
        self.config = config
        self.data_dir = data_dir
        self.metrics_port = metrics_port
        self.loop: asyncio.AbstractEventLoop | None = None
        self.broker: Any = None
        self.port = 0
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
        self.port = self.broker.port

    def _run(self) -> None:
        from .broker.core import Broker

        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)

        async def main() -> None:
            self._stopped = asyncio.Event()
            try:
                self.broker = Broker(self.config, self.data_dir)
                await self.broker.start()
                if self.metrics_port is not None:
                    from .broker.metrics import enable_metrics

                    metrics = enable_metrics(self.broker, self.metrics_port, self.config.host)
                    self.metrics_port = metrics.port
            except BaseException as exc:
                if self.broker is not None:
                    await self.broker.stop()  # e.g. the metrics port was taken
                self._ready.set_exception(exc)
                return
            self._ready.set_result(None)
            await self._stopped.wait()
            await self.broker.stop()

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
        return self.call(lambda: inspect_topics(self.broker))

    def records(self, topic: str, partition: int | None, read_committed: bool) -> list[KafkaRecord]:
        return self.call(lambda: inspect_records(self.broker, topic, partition, read_committed))

    def create_topic(
        self, name: str, partitions: int | None, config: dict[str, str] | None
    ) -> None:
        self.call(lambda: create_topic_direct(self.broker, name, partitions, config))


# -- process mode --------------------------------------------------------------------


class _ProcessRunner:
    """Runs the broker in a child process and talks to it over JSON lines on stdio."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.metrics_port: int | None = None
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
        self.port = int(msg["port"])
        self.metrics_port = msg.get("metrics_port")

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
        self, name: str, partitions: int | None, config: dict[str, str] | None
    ) -> None:
        self._rpc({"op": "create_topic", "name": name, "partitions": partitions, "config": config})


_ERRORS: dict[str, type[Exception]] = {"KeyError": KeyError, "ValueError": ValueError}
