"""The API registry, control hooks and request dispatch.

Each module under ``apis/`` registers its handler with :func:`api`, naming the API
key and the version range it implements. ApiVersions is built from this registry,
so what the broker advertises cannot drift from what it implements (as in
franz-go's kfake).

Control hooks (kfake's ``ControlKey``) run before the handler and may answer,
fail, delay or drop a request; see :class:`ControlHooks`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..protocol import codec
from ..protocol.connection import Request
from ..protocol.headers import RequestHeader

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
    """

    cluster: Cluster
    node: Node
    header: RequestHeader
    client_host: str
    connection_id: int

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


# -- control hooks -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delay:
    """A hook result: wait ``seconds``, then handle the request normally."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Drop:
    """A hook result: close the connection without answering."""


HookFn = Callable[[RequestContext, Any], Any]


@dataclass(slots=True)
class Hook:
    """One control hook: ``fn`` runs for requests with ``api_key`` (or all)."""

    fn: HookFn
    api_key: int | None
    keep: bool
    calls: int = 0


@dataclass
class ControlHooks:
    """Test control hooks, as kfake's ``ControlKey``.

    A hook is ``fn(ctx, request) -> result``. It returns ``None`` to let the
    request through, a response (entity, dict or bytes) to answer it, ``Delay``
    to hold it, or ``Drop`` to close the connection. Unless ``keep`` is set, a hook
    is removed after it first returns something other than ``None``.
    """

    hooks: list[Hook] = field(default_factory=list)

    def add(self, fn: HookFn, api_key: int | None = None, keep: bool = False) -> Hook:
        """Install a hook and return it (pass it to :meth:`remove` to drop it)."""
        hook = Hook(fn, api_key, keep)
        self.hooks.append(hook)
        return hook

    def remove(self, hook: Hook) -> None:
        """Remove a hook; removing one that is gone is a no-op."""
        if hook in self.hooks:
            self.hooks.remove(hook)

    def run(self, ctx: RequestContext, request: Any) -> Any:
        """Return the first hook's non-``None`` result, or ``None``."""
        for hook in list(self.hooks):
            if hook.api_key is not None and hook.api_key != ctx.header.api_key:
                continue
            result = hook.fn(ctx, request)
            if result is None:
                continue
            hook.calls += 1
            if not hook.keep:
                self.remove(hook)
            return result
        return None


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


def dispatch(ctx: RequestContext, request: Request, hooks: ControlHooks) -> Any:
    """Handle one request; return its response, or an awaitable of it.

    Raises:
        CloseConnection: the API key or version is unsupported (Kafka closes the
            connection in that case, except for ApiVersions), or a hook said Drop.
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
        raise CloseConnection(
            f"unsupported version {header.api_version} of {spec.name} "
            f"(supported {spec.min_version}-{spec.max_version})"
        )
    if spec.raw:
        body: Any = (request.frame, request.body_offset)
    else:
        cls = codec.request_schema(header.api_key, header.api_version)
        body, _ = codec.decode(cls, request.frame, request.body_offset)
    if hooks.hooks:
        result = hooks.run(ctx, body)
        if result is not None:
            return _apply_hook_result(ctx, spec, body, result)
    return spec.handler(ctx, body)


def _apply_hook_result(ctx: RequestContext, spec: ApiSpec, body: Any, result: Any) -> Any:
    if isinstance(result, Drop):
        raise CloseConnection(f"control hook dropped {spec.name}")
    if isinstance(result, Delay):

        async def delayed() -> Any:
            await ctx.cluster.clock.sleep(result.seconds)
            out = spec.handler(ctx, body)
            if inspect.isawaitable(out):
                out = await out
            return out

        return delayed()
    return result


def encode_response(ctx: RequestContext, response: Any) -> Buffer | Sequence[Buffer]:
    """Turn a handler's response into bytes or a list of buffers."""
    if isinstance(response, bytes | bytearray | memoryview | list):
        return response
    if isinstance(response, dict):
        response = ctx.build(response)
    return codec.encode(response)
