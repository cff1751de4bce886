"""Entry point of the broker child process used by ``EmbeddedKafka(mode="process")``.

Protocol on stdio, one JSON object per line: the child first writes
``{"port": N}`` (or ``{"error": "..."}``), then answers requests such as
``{"op": "records", "topic": "t"}`` with ``{"result": ...}``. EOF on stdin means
the parent is gone or wants us to stop: the broker shuts down and the process
exits. On Linux, PR_SET_PDEATHSIG also delivers SIGTERM if the parent dies.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import signal
import sys
import threading
from typing import Any

from ..embedded import create_topic_direct, inspect_records, inspect_topics
from .core import Broker
from .metrics import enable_metrics
from .state.cluster import BrokerConfig

_PR_SET_PDEATHSIG = 1


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
    p.add_argument("--partitions", type=int, default=1)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--no-auto-create-topics", action="store_true")
    p.add_argument("--setting", action="append", default=[])
    p.add_argument("--metrics-port", type=int, default=None)
    return p.parse_args(argv)


def config_from_args(ns: argparse.Namespace) -> BrokerConfig:
    """Build a ``BrokerConfig`` from parsed arguments."""
    settings: dict[str, Any] = {}
    for item in ns.setting:
        key, _, value = item.partition("=")
        settings[key] = json.loads(value)
    return BrokerConfig(
        host=ns.host,
        port=ns.port,
        default_partitions=ns.partitions,
        auto_create_topics=not ns.no_auto_create_topics,
        **settings,
    )


def _handle(broker: Broker, req: dict[str, Any]) -> Any:
    op = req.get("op")
    if op == "topics":
        return inspect_topics(broker)
    if op == "records":
        rows = inspect_records(
            broker, req["topic"], req.get("partition"), bool(req.get("read_committed"))
        )
        return [r.to_json() for r in rows]
    if op == "create_topic":
        create_topic_direct(broker, req["name"], req.get("partitions"), req.get("config"))
        return None
    raise ValueError(f"unknown op {op!r}")


def main(argv: list[str] | None = None) -> None:
    """Run the broker until stdin closes or a termination signal arrives."""
    parent = os.getppid()
    _die_with_parent(parent)
    ns = parse_args(argv)
    out = sys.stdout

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            broker = Broker(config_from_args(ns), ns.data_dir)
            await broker.start()
            ready: dict[str, Any] = {"port": broker.port}
            if ns.metrics_port is not None:
                ready["metrics_port"] = enable_metrics(broker, ns.metrics_port, ns.host).port
        except Exception as exc:
            out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
            out.flush()
            return
        out.write(json.dumps(ready) + "\n")
        out.flush()

        def reader() -> None:
            for line in sys.stdin:
                try:
                    req = json.loads(line)
                    fut = asyncio.run_coroutine_threadsafe(_call(broker, req), loop)
                    reply = fut.result()
                except Exception as exc:  # report, keep serving
                    reply = {"error": str(exc), "type": type(exc).__name__}
                out.write(json.dumps(reply) + "\n")
                out.flush()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=reader, daemon=True).start()
        await stop.wait()
        await broker.stop()

    asyncio.run(run())


async def _call(broker: Broker, req: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"result": _handle(broker, req)}
    except Exception as exc:
        return {"error": str(exc).strip("'\""), "type": type(exc).__name__}


if __name__ == "__main__":
    main()
