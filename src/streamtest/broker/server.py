"""The only socket code: asyncio transports in, sans-I/O connections inside.

Each TCP connection gets a :class:`KafkaProtocol`, which feeds bytes to a
``ServerConnection`` and dispatches the requests it yields. Requests on one
connection are handled one at a time, in order, as Kafka's own broker does (it
mutes a channel until its response is sent). That keeps responses in request
order even when clients pipeline. Handlers that finish at once are answered inline
from ``data_received``; handlers that must wait (a Fetch long poll, a JoinGroup)
return a coroutine, and the connection resumes after it completes.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from ..protocol.connection import Request, ServerConnection
from ..protocol.exceptions import RemoteProtocolError
from ..protocol.headers import RequestHeader
from .dispatch import (
    NO_RESPONSE,
    CloseConnection,
    RequestContext,
    dispatch,
    encode_response,
    flexible_lookup,
)
from .observe import finished, request_fields

if TYPE_CHECKING:
    from .cluster import Cluster
    from .node import Node

log = logging.getLogger("streamtest.broker")

_conn_ids = itertools.count(1)


class KafkaProtocol(asyncio.Protocol):
    """One client connection to a node of the cluster."""

    def __init__(self, cluster: Cluster, node: Node) -> None:
        self.cluster = cluster
        self.node = node
        self.conn = ServerConnection(
            flexible_lookup, int(cluster.settings["socket.request.max.bytes"])
        )
        self.connection_id = next(_conn_ids)
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self._busy = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.node.connections.add(self)
        if self.cluster.metrics is not None:
            self.cluster.metrics.connection_opened()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self._closed = True
        self.node.connections.discard(self)
        if self.cluster.metrics is not None:
            self.cluster.metrics.connection_closed()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.cluster.connection_closed(self.connection_id)

    def data_received(self, data: bytes) -> None:  # noqa: D102
        self.conn.receive_data(data)
        if not self._busy:
            self._process()

    # -- request loop ------------------------------------------------------------

    def abort(self) -> None:
        """Drop the connection at once (its node is stopping)."""
        self._closed = True
        if self.transport is not None:
            self.transport.abort()

    def close(self, reason: str, header: RequestHeader | None = None) -> None:
        """Close the connection, logging why (and which request, if one caused it)."""
        if not self._closed:
            log.warning(
                "closing connection %s from %s: %s",
                self.connection_id,
                self.peer,
                reason,
                extra=request_fields(self, header),
            )
            self._closed = True
            if self.transport is not None:
                self.transport.close()

    def _process(self) -> None:
        while not self._closed:
            try:
                request = self.conn.next_request()
            except RemoteProtocolError as exc:
                self.close(f"protocol error: {exc}")
                return
            if request is None:
                return
            cluster = self.cluster
            cluster.last_activity = started = time.monotonic()
            ctx = RequestContext(cluster, self.node, request.header, self.peer, self.connection_id)
            for observe in cluster.observers:
                observe(ctx)
            try:
                result = dispatch(ctx, request)
            except Exception as exc:
                self._failed(request, exc, started)
                return
            if inspect.isawaitable(result):
                self._busy = True
                self._task = asyncio.get_running_loop().create_task(
                    self._finish(request, ctx, result, started)
                )
                return
            self._send(request, ctx, result, started)

    async def _finish(
        self, request: Request, ctx: RequestContext, pending: Any, started: float
    ) -> None:
        try:
            result = await pending
        except asyncio.CancelledError:
            return
        except Exception as exc:
            self._failed(request, exc, started)
            return
        self._send(request, ctx, result, started)
        self._busy = False
        self._task = None
        if self.conn_has_data():
            self._process()

    def _failed(self, request: Request, exc: Exception, started: float) -> None:
        """Close the connection after a handler raised.

        Errors travel on two channels (as in kfake): a Kafka failure is an error
        code inside a response; an exception means "close this connection". A
        protocol error or a deliberate close is logged briefly; anything else is
        a broker bug and is logged with its traceback.
        """
        finished(self, request.header, started, failed=True)
        if isinstance(exc, CloseConnection | RemoteProtocolError):
            self.close(str(exc), request.header)
            return
        log.error(
            "handler for api_key=%s failed",
            request.header.api_key,
            exc_info=exc,
            extra=request_fields(self, request.header),
        )
        self.close("internal error", request.header)

    def conn_has_data(self) -> bool:
        """Return whether bytes are buffered that may hold another request."""
        return self.conn.buffered > 0

    def _send(self, request: Request, ctx: RequestContext, result: Any, started: float) -> None:
        finished(self, request.header, started)
        if result is NO_RESPONSE or self._closed or self.transport is None:
            return
        try:
            body = encode_response(ctx, result)
        except Exception:
            log.exception("encoding the response to api_key=%s failed", request.header.api_key)
            self.close("internal error")
            return
        write_buffers(self.transport, self.conn.response_buffers(request, body))


#: writev(2) takes at most IOV_MAX buffers per call (1024 on Linux).
_IOV_MAX = 1024
#: Python 3.12+ transports implement writelines with sendmsg(2) themselves.
_NATIVE_WRITELINES = sys.version_info >= (3, 12)


def write_buffers(transport: asyncio.Transport, buffers: list[Any]) -> None:
    """Write ``buffers`` in order without joining them into one copy.

    A Fetch response is a small header plus the stored record batches. On Python
    3.11, ``Transport.writelines`` joins its arguments (one full copy of every
    batch), so when the transport has nothing queued we hand the buffers to the
    kernel with ``os.writev`` (scatter-gather) and give only what the socket did
    not take to the transport, which queues it and finishes the write.
    """
    if _NATIVE_WRITELINES or len(buffers) == 1 or transport.get_write_buffer_size():
        transport.writelines(buffers)
        return
    sock = transport.get_extra_info("socket")
    if sock is None:
        transport.writelines(buffers)
        return
    views = [memoryview(b) for b in buffers]
    i = 0
    while i < len(views):
        chunk = views[i : i + _IOV_MAX]
        try:
            sent = os.writev(sock.fileno(), chunk)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break  # let the transport hit (and report) the same error
        while sent and i < len(views):
            n = len(views[i])
            if sent >= n:
                sent -= n
                i += 1
            else:
                views[i] = views[i][sent:]
                sent = 0
        if i < len(views) and len(chunk) < _IOV_MAX:
            break  # the socket buffer is full: queue the rest
    for view in views[i:]:
        transport.write(view)
