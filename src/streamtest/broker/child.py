"""Entry point of the broker child process used by ``EmbeddedKafka(mode="process")``.

The child runs a :class:`~.cluster.Cluster` on its own event loop and talks to its
parent over stdin/stdout in frames (``ipc.py``): first ``{"ports": [...]}`` (or
``{"error": "..."}``), then answers to control commands (``commands.py``), and
requests of its own when an intercept hook fires, whose function lives in the
parent. EOF on stdin means the parent is gone or wants us to stop: the cluster
shuts down and the process exits. On Linux, PR_SET_PDEATHSIG also delivers
SIGTERM if the parent dies.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import importlib.util
import itertools
import os
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from .cluster import Cluster
from .commands import execute
from .config import BrokerSettings, ConfigError, parse_setting_line
from .intercept import RequestInfo
from .ipc import ChannelClosed, FrameWriter, read_frame

_PR_SET_PDEATHSIG = 1

# What the schema registry imports beyond streamtest's own dependencies.
_REGISTRY_MODULES = ("h11", "fastavro", "jsonschema", "grpc_tools")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the child's command line."""
    p = argparse.ArgumentParser(prog="streamtest.broker.child")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--brokers", type=int, default=1)
    p.add_argument("--clock", default="real", choices=("real", "manual"))
    p.add_argument("--advertised-host", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--setting", action="append", default=[])
    p.add_argument("--control-port", type=int, default=None)
    p.add_argument("--schema-registry-port", type=int, default=None)
    p.add_argument("--metrics-port", type=int, default=None)
    return p.parse_args(argv)


def cluster_from_args(ns: argparse.Namespace) -> Cluster:
    """Build the ``Cluster`` the parsed arguments describe.

    Raises:
        ConfigError: a bad ``--setting``.
    """
    settings = BrokerSettings(dict(parse_setting_line(item) for item in ns.setting))
    return Cluster(
        brokers=ns.brokers,
        settings=settings,
        clock=ns.clock,
        host=ns.host,
        port=ns.port,
        advertised_host=ns.advertised_host,
        data_dir=ns.data_dir,
        control_port=ns.control_port,
    )


class _Channel:
    """The child's side of the control channel."""

    def __init__(self, loop: asyncio.AbstractEventLoop, writer: FrameWriter) -> None:
        self.loop = loop
        self.writer = writer
        self._callbacks: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)

    def hook_factory(self, hook_id: int) -> Callable[..., Awaitable[Any]]:
        """Return the function an intercept hook calls: it asks the parent, which
        runs the test's function, and returns the parent's verdict."""

        async def proxy(*args: Any, info: RequestInfo) -> Any:
            cb = next(self._ids)
            fut: asyncio.Future[Any] = self.loop.create_future()
            self._callbacks[cb] = fut
            try:
                self.writer.send({"cb": cb, "hook": hook_id, "args": args, "info": info})
                return await fut
            except ChannelClosed:
                return None
            finally:
                self._callbacks.pop(cb, None)

        return proxy

    def callback_answered(self, cb: int, result: Any) -> None:
        """Resolve the hook call ``cb`` with the parent's verdict (on the loop)."""
        fut = self._callbacks.get(cb)
        if fut is not None and not fut.done():
            fut.set_result(result)

    def fail_callbacks(self) -> None:
        """The parent is gone: let waiting hooks go on as if they returned None."""
        for fut in self._callbacks.values():
            if not fut.done():
                fut.set_result(None)


def main(argv: list[str] | None = None) -> None:
    """Run the cluster until stdin closes or a termination signal arrives."""
    parent = os.getppid()
    _die_with_parent(parent)
    ns = parse_args(argv)
    writer = FrameWriter(sys.stdout.buffer)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            cluster = cluster_from_args(ns)
            await cluster.start()
            ready: dict[str, Any] = {"ports": [cluster.nodes[i].port for i in cluster.node_ids()]}
            if ns.metrics_port is not None:
                from .metrics import enable_metrics

                ready["metrics_port"] = enable_metrics(cluster, ns.metrics_port, ns.host).port
        except ConfigError as exc:
            writer.send({"error": str(exc)})
            return
        except Exception as exc:
            writer.send({"error": f"{type(exc).__name__}: {exc}"})
            return
        channel = _Channel(loop, writer)
        registry: dict[str, Any] = {}
        registry_thread = None
        if ns.schema_registry_port is not None:
            # Bind now and say the URL; import and start the registry in a thread, so
            # that its import (a few hundred ms in a fresh interpreter) does not delay
            # the start. Connections wait in the listen backlog meanwhile. The registry
            # talks to the cluster over the Kafka protocol, like any other client.
            missing = [m for m in _REGISTRY_MODULES if importlib.util.find_spec(m) is None]
            if missing:
                writer.send(
                    {
                        "error": f"the schema registry needs the registry extra ({missing[0]} "
                        "is missing): pip install 'streamtest[registry]'"
                    }
                )
                await cluster.stop()
                return
            try:
                sock = _bind(ns.host, ns.schema_registry_port)
            except OSError as exc:
                writer.send({"error": f"schema registry: {exc}"})
                await cluster.stop()
                return
            host = f"[{ns.host}]" if ":" in ns.host else ns.host
            ready["schema_registry_url"] = f"http://{host}:{sock.getsockname()[1]}"
            bootstrap = cluster.bootstrap_servers

            def start_registry() -> None:
                from ..registry.server import SchemaRegistry

                registry["r"] = SchemaRegistry(bootstrap, ns.host, 0).start(sock=sock)

            registry_thread = threading.Thread(target=start_registry, daemon=True)
        writer.send(ready)
        if registry_thread is not None:
            registry_thread.start()

        async def answer(message: dict[str, Any]) -> None:
            try:
                result = await execute(
                    cluster, message["op"], message.get("args", {}), channel.hook_factory
                )
                reply = {"id": message["id"], "result": result}
            except Exception as exc:  # reported to the parent, which raises it
                reply = {"id": message["id"], "error": (type(exc).__name__, str(exc))}
            try:
                writer.send(reply)
            except ChannelClosed:
                loop.call_soon(stop.set)

        def reader() -> None:
            stdin = sys.stdin.buffer
            while True:
                try:
                    message = read_frame(stdin)
                except (ChannelClosed, ValueError):
                    break
                if "cb" in message:
                    loop.call_soon_threadsafe(
                        channel.callback_answered, message["cb"], message.get("result")
                    )
                else:
                    asyncio.run_coroutine_threadsafe(answer(message), loop)
            loop.call_soon_threadsafe(channel.fail_callbacks)
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=reader, name="streamtest-control", daemon=True).start()
        await stop.wait()
        if registry_thread is not None:
            await loop.run_in_executor(None, registry_thread.join)
            if "r" in registry:
                await loop.run_in_executor(None, registry["r"].stop)
        await cluster.stop()

    asyncio.run(run())


if __name__ == "__main__":
    main()
