"""The only socket code: asyncio transports in, sans-I/O connections inside.

Each TCP connection gets a :class:`KafkaProtocol`, which feeds bytes to a
``ServerConnection``; the :class:`RequestScheduler` of its node's listener decides
which request runs next. The rules are those of Kafka's network layer
(``SocketServer``, ``Processor``, ``RequestChannel``, ``KafkaChannel``), applied per
listener, i.e. per node:

* **One request per connection at a time.** Responses leave in request order,
  even when clients pipeline. A handler that must wait (a Fetch long poll, a
  JoinGroup) returns a coroutine; the connection's next request waits for it.
* **Round-robin fairness.** A read event serves one request of the connection it
  is for; a connection with more complete requests joins the ready queue, and each
  turn of the event loop serves one request of every connection in it, then
  yields, so a client that pipelines thousands of requests gets one turn like
  everybody else (Kafka gets this from muting a channel while its request is in
  the request queue, and polling all channels between requests).
* **Back-pressure.** The next request of a connection is not processed while the
  bytes of its unsent responses exceed :data:`RESPONSE_BUFFER_HIGH` (the
  transport's ``pause_writing``), and the connection is not read meanwhile, so a
  client that never reads its responses is held by TCP flow control instead of
  growing broker memory. A connection holding a complete request and
  :data:`INPUT_BUFFER_HIGH` unprocessed bytes is not read either.
* **Bounds per listener.** Bytes received but not yet processed, partial frames
  included, count against ``queued.max.request.bytes``; connections with a request
  waiting in the ready queue count against ``queued.max.requests``. Over either
  bound, no connection of the listener is read until it catches up.
* **Limits.** ``socket.request.max.bytes`` caps a frame (a larger size prefix
  closes the connection before the frame is buffered); ``connections.max.idle.ms``
  closes connections with no traffic (negative: never); ``max.connections`` holds
  new connections unserved (as Kafka's acceptor leaves them in the listen
  backlog) and ``max.connections.per.ip`` closes the excess. Both are dynamic
  (AlterConfigs) and read when a connection arrives.
* **Throttling (KIP-219).** A response that carries ``throttle_time_ms`` is sent
  at once and the connection is then muted for that time (neither read nor
  served); for request versions from before KIP-219 the response itself is held
  back for that time instead. A connection from an IP over its
  ``connection_creation_rate`` quota (KIP-612) is held unserved for its throttle
  time, then closed.

Every timer uses the cluster's :class:`~streamtest.broker.clock.Clock`, so idle
timeouts and throttle mutes can be tested by advancing a manual clock. Every close,
whatever its reason, ends in ``connection_lost``, which tells the cluster (its
``close_listeners``: the group coordinator forgets the connection's members).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocol.connection import Request, ServerConnection
from ..protocol.exceptions import RemoteProtocolError
from ..protocol.headers import RequestHeader
from .config import parse_ip_overrides
from .dispatch import (
    NO_RESPONSE,
    CloseConnection,
    RequestContext,
    dispatch,
    encode_response,
    flexible_lookup,
)
from .observe import finished, request_fields
from .quotas import ANONYMOUS

if TYPE_CHECKING:
    from .clock import Clock, TimerHandle
    from .cluster import Cluster
    from .config import BrokerSettings
    from .node import Node

log = logging.getLogger("streamtest.broker")

_conn_ids = itertools.count(1)

#: Unsent response bytes of one connection above which its next request waits and
#: it is not read (the transport's write-buffer high-water mark). Kafka waits for
#: each response to be fully sent; allowing a little more keeps pipelining clients
#: fast while still bounding memory per connection.
RESPONSE_BUFFER_HIGH = 1024 * 1024
#: ... and below which it resumes.
RESPONSE_BUFFER_LOW = 256 * 1024
#: Unprocessed received bytes above which a connection that already holds a
#: complete request is not read. One read is at most 256 KiB, so a connection
#: buffers at most about this plus one read plus one partial frame.
INPUT_BUFFER_HIGH = 64 * 1024

#: The first version of each API whose clients back off by themselves when a
#: response carries a throttle time (KIP-219: Produce v6, Fetch v8); older
#: versions get the response late instead.
CLIENT_SIDE_THROTTLE_FROM: dict[int, int] = {0: 6, 1: 8}


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The read-only network settings of a listener, read when it opens.

    Attributes:
        socket_request_max_bytes: the largest request frame.
        queued_max_requests: connections with a request waiting before reads stop.
        queued_max_request_bytes: unprocessed received bytes before reads stop
            (``None``: no bound).
        connections_max_idle_ms: close connections idle this long (negative: never).
    """

    socket_request_max_bytes: int
    queued_max_requests: int
    queued_max_request_bytes: int | None
    connections_max_idle_ms: int

    @classmethod
    def from_settings(cls, settings: BrokerSettings) -> ServerLimits:
        """Return the limits in ``settings`` (validated together by ``BrokerSettings``)."""
        max_request = int(settings["socket.request.max.bytes"])
        queued_bytes = int(settings["queued.max.request.bytes"])
        if not settings.is_set("queued.max.request.bytes") and queued_bytes > 0:
            # The tuned default must not refuse a larger socket.request.max.bytes.
            queued_bytes = max(queued_bytes, max_request)
        return cls(
            socket_request_max_bytes=max_request,
            queued_max_requests=int(settings["queued.max.requests"]),
            queued_max_request_bytes=queued_bytes if queued_bytes > 0 else None,
            connections_max_idle_ms=int(settings["connections.max.idle.ms"]),
        )


class RequestScheduler:
    """Chooses which connection's request runs next on one listener, and bounds
    what the listener buffers.

    Args:
        limits: the listener's network settings.
        settings: the cluster's settings (the dynamic connection limits).
        clock: the cluster's clock (idle timeouts, throttle mutes).
    """

    def __init__(self, limits: ServerLimits, settings: BrokerSettings, clock: Clock) -> None:
        self.limits = limits
        self.settings = settings
        self.clock = clock
        self._ready: deque[KafkaProtocol] = deque()
        self._round_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Received bytes not yet processed, over all connections of the listener (an
        #: upper bound between recounts; see :meth:`unprocessed_bytes`).
        self.buffered_bytes = 0
        #: Whether reading is stopped on every connection (a bound is hit).
        self.reads_paused = False
        #: The open connections of the listener.
        self.connections: set[KafkaProtocol] = set()
        self._per_ip: dict[str, int] = {}
        self._active = 0
        self._waiting: deque[KafkaProtocol] = deque()
        #: Requests handed to handlers, for tests and tools.
        self.requests_served = 0

    # -- admission --------------------------------------------------------------

    def register(self, conn: KafkaProtocol) -> bool:
        """Count a new connection; return ``False`` if it was closed because its
        address has ``max.connections.per.ip`` already."""
        self.connections.add(conn)
        count = self._per_ip.get(conn.host, 0) + 1
        self._per_ip[conn.host] = count
        limit = int(self.settings["max.connections.per.ip"])
        overrides = self.settings["max.connections.per.ip.overrides"]
        if overrides:
            limit = parse_ip_overrides(overrides).get(conn.host, limit)
        if count > limit:
            conn.close(f"too many connections from {conn.host} (max.connections.per.ip={limit})")
            return False
        return True

    def try_activate(self, conn: KafkaProtocol) -> bool:
        """Return whether a registered connection may be served now; over
        ``max.connections`` it waits, unread, until another one closes."""
        if self._active >= int(self.settings["max.connections"]):
            self._waiting.append(conn)
            return False
        self._active += 1
        return True

    def release(self, conn: KafkaProtocol) -> None:
        """Forget a closed connection and its buffered bytes; activate a waiting one."""
        self.connections.discard(conn)
        left = self._per_ip.get(conn.host, 1) - 1
        if left > 0:
            self._per_ip[conn.host] = left
        else:
            self._per_ip.pop(conn.host, None)
        self.buffered_bytes -= conn.counted_bytes
        conn.counted_bytes = 0
        if conn.admitted:
            self._active -= 1
            limit = int(self.settings["max.connections"])
            while self._waiting and self._active < limit:
                nxt = self._waiting.popleft()
                if not nxt.closed:
                    self._active += 1
                    nxt.activate()
        elif conn in self._waiting:
            self._waiting.remove(conn)
        if self.reads_paused:
            self._recount()

    # -- the ready queue ----------------------------------------------------------

    def enqueue(self, conn: KafkaProtocol) -> None:
        """Put a connection with a complete request at the back of the ready queue."""
        conn.queued = True
        self._ready.append(conn)
        if not self._round_scheduled:
            self._round_scheduled = True
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            loop.call_soon(self._run_round)
        if len(self._ready) >= self.limits.queued_max_requests:
            self._check_bounds()

    def _run_round(self) -> None:
        """Serve one request of every connection that was ready when the round began.

        Connections that still have requests rejoin the back of the queue and are
        served in the next round, after the loop has polled the sockets again.
        """
        self._round_scheduled = False
        ready = self._ready
        for _ in range(len(ready)):
            conn = ready.popleft()
            conn.queued = False
            try:
                conn.serve_one()
            except Exception:  # a broker bug: never let it stop the other connections
                log.exception("serving connection %s failed", conn.connection_id)
                conn.close("internal error")
        if self.reads_paused:
            self._recount()
        elif len(ready) >= self.limits.queued_max_requests:
            self._check_bounds()

    # -- bounds ---------------------------------------------------------------------
    #
    # ``buffered_bytes`` grows with every read and shrinks only when it is recounted
    # (when it reaches the bound, when a connection closes or while reads are paused,
    # every round): the requests served in between are not subtracted one by one,
    # which keeps the per-request path free of accounting. It can only overstate,
    # and every read that takes it to the bound recounts it, so it is over the bound
    # only when the exact count is.

    def received(self, n: int) -> None:
        """Count ``n`` bytes received on one of the listener's connections."""
        self.buffered_bytes += n
        bound = self.limits.queued_max_request_bytes
        if bound is not None and self.buffered_bytes >= bound:
            self._recount()

    def unprocessed_bytes(self) -> int:
        """Return the bytes the listener's connections received but did not process
        yet, partial frames included (what ``queued.max.request.bytes`` bounds)."""
        self._recount()
        return self.buffered_bytes

    def _recount(self) -> None:
        total = 0
        for conn in self.connections:
            held = conn.conn.buffered
            conn.counted_bytes = held
            total += held
        self.buffered_bytes = total
        self._check_bounds()

    def _check_bounds(self) -> None:
        bound = self.limits.queued_max_request_bytes
        over = (bound is not None and self.buffered_bytes >= bound) or len(
            self._ready
        ) >= self.limits.queued_max_requests
        if over == self.reads_paused:
            return
        self.reads_paused = over
        if over:
            log.debug(
                "reads paused: %d connections with a request waiting, %d bytes buffered",
                len(self._ready),
                self.buffered_bytes,
            )
        for conn in list(self.connections):
            conn.update_reading()


# Why a connection's requests are held: bits of ``KafkaProtocol._held``. It is
# served only while none is set, so the hot path tests one integer.
_UNADMITTED = 1  # over max.connections, or held by its IP's connection quota
_BUSY = 2  # a request in progress (or a pre-KIP-219 throttled response held back)
_WRITES_PAUSED = 4  # more than RESPONSE_BUFFER_HIGH of its responses are unsent
_THROTTLED = 8  # muted for a quota (KIP-219)
_CLOSED = 16
#: The holds that also stop reading its socket.
_NO_READ = _UNADMITTED | _WRITES_PAUSED | _THROTTLED | _CLOSED


class KafkaProtocol(asyncio.Protocol):
    """One client connection to a node of the cluster.

    Args:
        cluster: the cluster it serves.
        node: the node whose listener accepted it.
        scheduler: that listener's scheduler.
    """

    def __init__(self, cluster: Cluster, node: Node, scheduler: RequestScheduler) -> None:
        self.cluster = cluster
        self.node = node
        self.scheduler = scheduler
        self.clock = scheduler.clock
        self.conn = ServerConnection(flexible_lookup, scheduler.limits.socket_request_max_bytes)
        self.connection_id = next(_conn_ids)
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.host = "?"
        #: The authenticated principal (no authentication yet: Kafka's ANONYMOUS).
        self.principal = ANONYMOUS
        #: In the scheduler's ready queue.
        self.queued = False
        #: Bytes of this connection counted in the scheduler's ``buffered_bytes``.
        self.counted_bytes = 0
        #: Requests of this connection handed to a handler (for tests and tools).
        self.requests_served = 0
        self._held = _UNADMITTED
        self._reading = True
        self._task: asyncio.Task[None] | None = None
        self._pending: Any = None
        self._timer: TimerHandle | None = None
        self._throttle_timer: TimerHandle | None = None
        #: Clock time of the latest read, or of a response sent after a wait.
        self._last_active = 0.0

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.host = peer[0] if peer else "?"
        transport.set_write_buffer_limits(high=RESPONSE_BUFFER_HIGH, low=RESPONSE_BUFFER_LOW)
        self.node.connections.add(self)
        if self.cluster.metrics is not None:
            self.cluster.metrics.connection_opened()
        self._last_active = self.clock.monotonic()
        if not self.scheduler.register(self):
            return
        delay_ms = self.node.quotas.connections.record(self.host)
        if delay_ms > 0:
            # KIP-612: over its IP's connection_creation_rate, the connection is
            # held unserved for the throttle time, then closed.
            self._set_reading(False)
            self._timer = self.clock.call_later(
                delay_ms / 1000,
                self.close,
                f"connection_creation_rate quota of {self.host} exceeded",
            )
            return
        if self.scheduler.try_activate(self):
            self.activate()
        else:
            self._set_reading(False)

    def activate(self) -> None:
        """Start serving the connection (it was admitted)."""
        self._held &= ~_UNADMITTED
        idle_ms = self.scheduler.limits.connections_max_idle_ms
        if idle_ms >= 0:
            self._arm_idle_timer(idle_ms / 1000)
        self.update_reading()  # the listener may have stopped reading
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self._held |= _CLOSED
        for timer in (self._timer, self._throttle_timer):
            if timer is not None:
                timer.cancel()
        self.node.connections.discard(self)
        self.scheduler.release(self)
        if self.cluster.metrics is not None:
            self.cluster.metrics.connection_closed()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            pending = self._pending
            if inspect.iscoroutine(pending) and (
                inspect.getcoroutinestate(pending) == inspect.CORO_CREATED
            ):
                pending.close()  # never started: close it so it is not "never awaited"
        self.cluster.connection_closed(self.connection_id)

    def data_received(self, data: bytes) -> None:  # noqa: D102
        conn = self.conn
        conn.receive_data(data)
        self.counted_bytes += len(data)
        self.scheduler.received(len(data))
        self._last_active = self.clock.monotonic()
        if not self._held and not self.queued and conn.has_request():
            # This read is the connection's turn: serve one request now, as Kafka's
            # processor hands over one request per channel per poll. The rest wait
            # for the next rounds.
            self.serve_one()
        elif conn.buffered >= INPUT_BUFFER_HIGH:
            self.update_reading()

    def pause_writing(self) -> None:  # noqa: D102
        # More than RESPONSE_BUFFER_HIGH bytes of responses are unsent.
        self._held |= _WRITES_PAUSED
        self.update_reading()

    def resume_writing(self) -> None:  # noqa: D102
        self._held &= ~_WRITES_PAUSED
        self._last_active = self.clock.monotonic()
        self._next()

    # -- state ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Return whether the connection is closed or closing."""
        return bool(self._held & _CLOSED)

    @property
    def admitted(self) -> bool:
        """Return whether the connection is served (within ``max.connections``
        and not held by a connection quota)."""
        return not self._held & _UNADMITTED

    @property
    def reading(self) -> bool:
        """Return whether the socket is being read."""
        return self._reading

    @property
    def throttled(self) -> bool:
        """Return whether the connection is muted for a quota (KIP-219)."""
        return bool(self._held & _THROTTLED)

    @property
    def busy(self) -> bool:
        """Return whether a request of this connection is being processed."""
        return bool(self._held & _BUSY)

    @property
    def unsent_bytes(self) -> int:
        """Return the bytes of responses written but not yet taken by the socket."""
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def update_reading(self) -> None:
        """Pause or resume reading from the socket according to the current state."""
        if self._held & _CLOSED:
            return
        self._set_reading(
            not self._held & _NO_READ
            and not self.scheduler.reads_paused
            and not (self.conn.buffered >= INPUT_BUFFER_HIGH and self.conn.has_request())
        )

    def _set_reading(self, want: bool) -> None:
        transport = self.transport
        if want == self._reading or transport is None or transport.is_closing():
            return
        self._reading = want
        if want:
            transport.resume_reading()
        else:
            transport.pause_reading()

    # -- closing -------------------------------------------------------------------

    def abort(self) -> None:
        """Drop the connection at once (its node is stopping)."""
        self._held |= _CLOSED
        if self.transport is not None:
            self.transport.abort()

    def close(
        self,
        reason: str,
        header: RequestHeader | None = None,
        level: int = logging.WARNING,
        *,
        drop: bool = False,
    ) -> None:
        """Close the connection, logging why (and which request, if one caused it).

        Responses already written are sent first, unless ``drop`` is set or the
        client is not reading them (waiting for those could take forever).
        """
        if self._held & _CLOSED:
            return
        log.log(
            level,
            "closing connection %s from %s: %s",
            self.connection_id,
            self.peer,
            reason,
            extra=request_fields(self, header),
        )
        writes_paused = self._held & _WRITES_PAUSED
        self._held |= _CLOSED
        transport = self.transport
        if transport is None:
            return
        if drop or writes_paused:
            transport.abort()
        else:
            transport.close()

    # -- idle connections (connections.max.idle.ms) ----------------------------------

    def _arm_idle_timer(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.clock.call_later(delay, self._check_idle)

    def _check_idle(self) -> None:
        if self._held & _CLOSED:
            return
        limit_ms = self.scheduler.limits.connections_max_idle_ms
        limit = limit_ms / 1000
        if self._held & (_BUSY | _THROTTLED) or self.queued:
            # A request in progress (a long poll) or waiting for its turn, or a
            # throttle mute, is not idleness.
            self._arm_idle_timer(limit)
            return
        # In whole microseconds: with float seconds, "limit - idle" can come out as
        # 1e-16, a timer a manual clock would fire again at the same instant forever.
        idle_us = round((self.clock.monotonic() - self._last_active) * 1_000_000)
        if idle_us >= limit_ms * 1000:
            self.close(
                f"idle for {idle_us // 1000} ms (connections.max.idle.ms={limit_ms})",
                level=logging.INFO,
                drop=self.unsent_bytes > 0,
            )
            return
        self._arm_idle_timer((limit_ms * 1000 - idle_us) / 1_000_000)

    # -- serving requests ---------------------------------------------------------

    def serve_one(self) -> None:
        """Handle the next buffered request (on this connection's turn)."""
        if self._held:
            return
        try:
            request = self.conn.next_request()
        except RemoteProtocolError as exc:
            self.close(f"protocol error: {exc}")
            return
        if request is None:
            return
        self.scheduler.requests_served += 1
        self.requests_served += 1
        cluster = self.cluster
        cluster.last_activity = started = time.monotonic()
        ctx = RequestContext(
            cluster, self.node, request.header, self.peer, self.connection_id, self.principal
        )
        for observe in cluster.observers:
            observe(ctx)
        try:
            result = dispatch(ctx, request)
        except Exception as exc:
            self._failed(request, exc, started)
            return
        if inspect.isawaitable(result):
            # The handler waits (a long poll, a JoinGroup); the connection's next
            # request waits for it.
            self._held |= _BUSY
            self._pending = result
            self._task = asyncio.get_running_loop().create_task(
                self._finish(request, ctx, result, started)
            )
        elif ctx.throttle_time_ms:
            self._throttle(request, ctx, result, started)
        else:
            self._send(request, ctx, result, started)
            self._next()

    async def _finish(
        self, request: Request, ctx: RequestContext, pending: Any, started: float
    ) -> None:
        # Awaited here, not through a done callback: the response goes out in the
        # same loop turn the handler finishes in.
        try:
            result = await pending
        except asyncio.CancelledError:
            return
        except Exception as exc:
            self._task = self._pending = None
            self._held &= ~_BUSY
            self._failed(request, exc, started)
            return
        self._task = self._pending = None
        self._held &= ~_BUSY
        self._last_active = self.clock.monotonic()
        if ctx.throttle_time_ms:
            self._throttle(request, ctx, result, started)
            return
        self._send(request, ctx, result, started)
        self._next()

    def _throttle(self, request: Request, ctx: RequestContext, result: Any, started: float) -> None:
        """Send a throttled response and mute the connection for its throttle time
        (KIP-219), or, for clients from before KIP-219, send it after that time."""
        ms = ctx.throttle_time_ms
        header = request.header
        first = CLIENT_SIDE_THROTTLE_FROM.get(header.api_key)
        if first is not None and header.api_version < first:
            self._held |= _BUSY

            def send_late() -> None:
                self._held &= ~_BUSY
                self._send(request, ctx, result, started)

            self._mute(ms, send_late)
            return
        self._send(request, ctx, result, started)
        self._mute(ms, None)

    def _next(self) -> None:
        """Queue the connection for its next request, if it has one and may be served."""
        if not self._reading:
            self.update_reading()
        if not self._held and not self.queued and self.conn.has_request():
            self.scheduler.enqueue(self)

    def _mute(self, throttle_ms: int, then: Callable[[], None] | None) -> None:
        """Neither read nor serve the connection for ``throttle_ms`` (KIP-219)."""
        self._held |= _THROTTLED
        self.update_reading()

        def unmute() -> None:
            self._throttle_timer = None
            self._held &= ~_THROTTLED
            if self._held & _CLOSED:
                return
            self._last_active = self.clock.monotonic()
            if then is not None:
                then()
            self._next()

        if self._throttle_timer is not None:
            self._throttle_timer.cancel()
        self._throttle_timer = self.clock.call_later(throttle_ms / 1000, unmute)

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

    def _send(self, request: Request, ctx: RequestContext, result: Any, started: float) -> None:
        finished(self, request.header, started)
        transport = self.transport
        if result is NO_RESPONSE or self._held & _CLOSED or transport is None:
            return
        try:
            body = encode_response(ctx, result)
        except Exception:
            log.exception("encoding the response to api_key=%s failed", request.header.api_key)
            self.close("internal error", request.header)
            return
        write_buffers(transport, self.conn.response_buffers(request, body))


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
