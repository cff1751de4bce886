"""Small helpers the group API handlers share (request fields to plain values)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..dispatch import RequestContext

#: ``authorized_operations`` when the client did not ask for them.
AUTH_OPS_UNSET = -(2**31)
#: Every operation on a group, as Kafka answers with no authorizer (3400: READ,
#: DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS; ``services/authorization.py``).
GROUP_AUTH_OPS = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11)


def millis(value: datetime.timedelta | int) -> int:
    """Return a kio ``timedelta`` field (or an int) as whole milliseconds."""
    if isinstance(value, datetime.timedelta):
        return int(value / datetime.timedelta(milliseconds=1))
    return int(value)


def client_host(ctx: RequestContext) -> str:
    """Return the client's address as Kafka reports it (``/127.0.0.1``)."""
    host = ctx.client_host.rsplit(":", 1)[0] if ":" in ctx.client_host else ctx.client_host
    return "/" + host


def client_id(ctx: RequestContext) -> str:
    """Return the request header's client id ("" if null)."""
    return ctx.header.client_id or ""


def respond_later(
    pending: asyncio.Future[dict[str, Any]], finish: Callable[[dict[str, Any]], Any]
) -> Awaitable[Any]:
    """Return a coroutine that waits for ``pending`` and shapes its result with ``finish``.

    The future is shielded: if the client's connection closes while the request
    is parked, the coordinator still sees the member as waiting (as Kafka does)
    and resolves the future harmlessly later.
    """

    async def wait() -> Any:
        return finish(await asyncio.shield(pending))

    return wait()
