"""The control endpoint of a running ``streamtest broker``: JSON lines on loopback.

``streamtest cluster ...`` connects here to stop, start, kill, isolate, add and
remove nodes, move leaders and inject faults in a cluster that another process
runs. Each line is ``{"op": name, "args": {...}}`` and is answered with
``{"result": ...}`` or ``{"error": "one line"}``, using the same command table as
``EmbeddedKafka`` (``commands.py``), except the commands that carry Python
objects (intercept hooks) or bytes (records).

It binds loopback only and has no authentication: like the broker's own
PLAINTEXT listeners, it is for a test machine, not a shared network.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from .commands import execute

if TYPE_CHECKING:
    from .cluster import Cluster

log = logging.getLogger("streamtest.broker.control")

#: Commands that cannot travel as JSON.
_EXCLUDED = frozenset({"add_hook", "remove_hook", "records"})
#: The longest command line accepted.
MAX_LINE = 64 * 1024


class ControlEndpoint:
    """Serves the cluster's commands as JSON lines.

    Args:
        cluster: the cluster to control.
        host: interface to bind (loopback by default).
        port: port to bind (0 picks a free one).
    """

    def __init__(self, cluster: Cluster, host: str = "127.0.0.1", port: int = 0) -> None:
        self.cluster = cluster
        self.host = host
        self.port = port
        self._server: asyncio.base_events.Server | None = None

    @property
    def address(self) -> str:
        """Return ``host:port`` (after :meth:`start`)."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve.

        Raises:
            OSError: the address cannot be bound.
        """
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=MAX_LINE
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (asyncio.LimitOverrunError, ValueError):
                    await self._reply(writer, {"error": "command line too long"})
                    break
                if not line:
                    break
                await self._reply(writer, await self._answer(line))
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            message = json.loads(line)
            op = message["op"]
            args = message.get("args") or {}
            if not isinstance(op, str) or not isinstance(args, dict):
                raise ValueError("expected {\"op\": name, \"args\": {...}}")
        except (ValueError, KeyError, TypeError) as exc:
            return {"error": f"bad command: {exc}"}
        if op in _EXCLUDED:
            return {"error": f"{op} is not available through the control endpoint"}
        try:
            return {"result": await execute(self.cluster, op, args)}
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            return {"error": str(exc).strip("'\"")}
        except Exception as exc:  # a bug: report it, keep serving
            log.exception("control command %s failed", op)
            return {"error": f"{type(exc).__name__}: {exc}"}

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, reply: dict[str, Any]) -> None:
        writer.write((json.dumps(reply, default=str) + "\n").encode())
        await writer.drain()
