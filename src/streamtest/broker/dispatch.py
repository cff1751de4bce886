"""The API registry and request dispatch, with the control plane in the middle.

Each module under ``apis/`` registers its handler with :func:`api`, naming the API
key and the version range it implements. ApiVersions is built from this registry,
so what the broker advertises cannot drift from what it implements (as in
franz-go's kfake).

Between decoding and the handler sit the test controls (``control.py``'s public
API): intercept hooks run before and after the handler (``intercept.py``), and
injected faults fail whole requests or, through :meth:`RequestContext.fault`,
single partitions (``faults.py``).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocol import codec
from ..protocol.connection import Request
from ..protocol.headers import RequestHeader
from .faults import PARTITION_LEVEL
from .intercept import CloseConnection as CloseConnectionVerdict
from .intercept import Delay, DropRequest, DropResponse, RequestInfo

if TYPE_CHECKING:
    from .cluster import Cluster
    from .node import Node

log = logging.getLogger("streamtest.broker")

Buffer = bytes | bytearray | memoryview
#: What a handler may return: a kio response entity, a dict to build one from,
#: encoded bytes, a list of buffers, or ``NO_RESPONSE`` (Produce with acks=0).
Response = Any


class _NoResponse:
    def __repr__(self) -> str:
        return "NO_RESPONSE"


NO_RESPONSE: Any = _NoResponse()


class CloseConnection(Exception):
    """Raised by a handler or hook to close the client's connection."""


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """A registered API: its key, version range and handler."""

    key: int
    name: str
    min_version: int
    max_version: int
    handler: Callable[..., Any]
    raw: bool
    is_async: bool


REGISTRY: dict[int, ApiSpec] = {}

#: Raw handlers of request versions Kafka 4.0 removed, served only with
#: ``streamtest.legacy.protocol=true``: (api key, version) -> handler taking the
#: context, the frame and the body offset, returning the encoded response body.
LEGACY: dict[tuple[int, int], Callable[[Any, bytearray, int], bytes]] = {}


def api(
    key: int, name: str, min_version: int, max_version: int, *, raw: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the handler of API ``key``.

    ``raw`` handlers receive the request frame and body offset instead of a
    decoded kio entity (used by the hand-written hot path).
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if key in REGISTRY:
            raise RuntimeError(f"API key {key} registered twice")
        REGISTRY[key] = ApiSpec(
            key, name, min_version, max_version, fn, raw, inspect.iscoroutinefunction(fn)
        )
        return fn

    return register


@dataclass(slots=True)
class RequestContext:
    """What a handler knows about the request it is serving.

    Attributes:
        cluster: the cluster (the handler calls its services).
        node: the node the request arrived on.
        header: the request header.
        client_host: the peer address.
        connection_id: identifies the connection (groups track members by it).
        principal: the client's principal; ``ANONYMOUS`` without authentication
            (Kafka's name), which is what ``user`` quotas match.
        throttle_time_ms: set through :meth:`throttle` by a handler whose client
            exceeded a quota; the server sends the response with it and then mutes
            the connection for that long (KIP-219).
    """

    cluster: Cluster
    node: Node
    header: RequestHeader
    client_host: str
    connection_id: int
    principal: str = "ANONYMOUS"
    throttle_time_ms: int = 0

    def fault(self, topic: str | None, partition: int | None = None) -> int:
        """Return the error an injected fault gives this topic/partition of the
        request (and use it up), or 0. Partition-level handlers call it for each
        partition before touching it."""
        faults = self.cluster.faults
        if not faults:
            return 0
        return faults.take(self.header.api_key, self.node.node_id, topic, partition)

    def throttle(self, quota: str, ms: int) -> None:
        """Throttle this request's client for ``ms`` milliseconds because it went
        over its ``quota`` (``"produce"``, ``"fetch"``): the response carries the
        time and the connection is muted for it; the throttle-time metric counts it.
        The longest throttle of one request wins, as in Kafka."""
        if ms <= 0:
            return
        self.throttle_time_ms = max(self.throttle_time_ms, ms)
        metrics = self.cluster.metrics
        if metrics is not None:
            metrics.throttled(quota, self.header.client_id or "", ms / 1000)

    @property
    def version(self) -> int:
        """Return the request's API version."""
        return self.header.api_version

    def response_cls(self) -> type:
        """Return kio's response class for this request's key and version."""
        return codec.response_schema(self.header.api_key, self.header.api_version)

    def build(self, data: dict[str, Any]) -> Any:
        """Build this request's response entity from ``data`` (see ``codec.build``)."""
        return codec.build(self.response_cls(), data)


# -- dispatch ----------------------------------------------------------------


def flexible_lookup(api_key: int, version: int) -> bool | None:
    """Return whether a supported ``(api_key, version)`` is flexible, else ``None``."""
    spec = REGISTRY.get(api_key)
    if spec is None or not spec.min_version <= version <= spec.max_version:
        # ApiVersions of an unknown (too new) version is still answered, in v0
        # format; its header is parsed as v1+tags only if the client says v3+.
        if api_key == 18 and version > 0:
            return version >= 3
        return None
    return codec.is_flexible(api_key, version)


def dispatch(ctx: RequestContext, request: Request) -> Any:
    """Handle one request; return its response, ``NO_RESPONSE``, or an awaitable of
    either.

    Raises:
        CloseConnection: the API key or version is unsupported (Kafka closes the
            connection in that case, except for ApiVersions), or a hook said so.
        RemoteProtocolError: the body cannot be decoded.
    """
    header = request.header
    spec = REGISTRY.get(header.api_key)
    if spec is None:
        raise CloseConnection(f"unknown API key {header.api_key}")
    if not spec.min_version <= header.api_version <= spec.max_version:
        if header.api_key == 18:
            from .apis.k18_api_versions import unsupported_version_response

            return unsupported_version_response()
        legacy = LEGACY.get((header.api_key, header.api_version))
        if legacy is not None and ctx.cluster.settings["streamtest.legacy.protocol"]:
            # Removed versions are all non-flexible: the body follows client_id.
            return legacy(ctx, request.frame, request.body_offset)
        raise CloseConnection(
            f"unsupported version {header.api_version} of {spec.name} "
            f"(supported {spec.min_version}-{spec.max_version})"
        )
    if spec.raw:
        body: Any = (request.frame, request.body_offset)
    else:
        cls = codec.request_schema(header.api_key, header.api_version)
        body, _ = codec.decode(cls, request.frame, request.body_offset)
    hooks = ctx.cluster.interceptors
    if hooks and (
        hooks.matching(spec.key, ctx.node.node_id, "before")
        or hooks.matching(spec.key, ctx.node.node_id, "after")
    ):
        return _intercepted(ctx, spec, request, body)
    return _serve(ctx, spec, body)


def _serve(ctx: RequestContext, spec: ApiSpec, body: Any) -> Any:
    faults = ctx.cluster.faults
    if faults and spec.key not in PARTITION_LEVEL and faults.has_api(spec.key):
        code = faults.take(spec.key, ctx.node.node_id)
        if code:
            return error_response(ctx, code)
    return spec.handler(ctx, body)


def error_response(ctx: RequestContext, code: int) -> Any:
    """Return this request's response carrying only a top-level ``code``.

    Raises:
        CloseConnection: the negotiated version has no top-level error code.
    """
    cls = ctx.response_cls()
    if "error_code" not in {f.name for f in dataclasses.fields(cls)}:
        raise CloseConnection(
            f"a fault on api_key={ctx.header.api_key} v{ctx.version}, whose response has "
            "no top-level error code"
        )
    return ctx.build({"error_code": code, "throttle_time": 0})


async def _intercepted(ctx: RequestContext, spec: ApiSpec, request: Request, body: Any) -> Any:
    """Serve a request that intercept hooks watch (``intercept.py``)."""
    hooks = ctx.cluster.interceptors
    node_id = ctx.node.node_id
    typed = body
    if spec.raw:
        cls = codec.request_schema(spec.key, ctx.version)
        typed, _ = codec.decode(cls, request.frame, request.body_offset)
    info = RequestInfo(
        spec.key, ctx.version, node_id, ctx.header.client_id, ctx.header.correlation_id
    )
    drop_response = False
    for hook in hooks.matching(spec.key, node_id, "before"):
        verdict = await hooks.run(hook, info, typed)
        if verdict is None:
            continue
        if isinstance(verdict, Delay):
            await ctx.cluster.clock.sleep(verdict.seconds)
        elif isinstance(verdict, DropRequest):
            return NO_RESPONSE
        elif isinstance(verdict, DropResponse):
            drop_response = True
        elif isinstance(verdict, CloseConnectionVerdict):
            raise CloseConnection(verdict.reason)
        else:
            return verdict
    response = _serve(ctx, spec, body)
    if inspect.isawaitable(response):
        response = await response
    after = hooks.matching(spec.key, node_id, "after")
    if after and response is not NO_RESPONSE:
        typed_response = _typed_response(ctx, response)
        for hook in after:
            verdict = await hooks.run(hook, info, typed, typed_response)
            if verdict is None:
                continue
            if isinstance(verdict, Delay):
                await ctx.cluster.clock.sleep(verdict.seconds)
            elif isinstance(verdict, DropResponse | DropRequest):
                return NO_RESPONSE
            elif isinstance(verdict, CloseConnectionVerdict):
                raise CloseConnection(verdict.reason)
            else:
                response = verdict
                break
    if drop_response:
        return NO_RESPONSE
    return response


def _typed_response(ctx: RequestContext, response: Any) -> Any:
    """Return a handler's response as a kio entity (decoding encoded bytes)."""
    if isinstance(response, dict):
        return ctx.build(response)
    if isinstance(response, bytes | bytearray | memoryview | list):
        data = b"".join(bytes(b) for b in response) if isinstance(response, list) else response
        typed, _ = codec.decode(ctx.response_cls(), data, 0)
        return typed
    return response


def encode_response(ctx: RequestContext, response: Any) -> Buffer | Sequence[Buffer]:
    """Turn a handler's response into bytes or a list of buffers."""
    if isinstance(response, bytes | bytearray | memoryview | list):
        return response
    if isinstance(response, dict):
        response = ctx.build(response)
    return codec.encode(response)
