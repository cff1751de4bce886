"""Helpers for the group coordinator tests: drive a ``Broker``'s coordinator on an
event loop without sockets (as tansu tests each service against memory storage)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from streamtest.broker.core import Broker
from streamtest.broker.groups.classic import JoinRequest
from streamtest.broker.groups.consumer import HeartbeatRequest
from streamtest.broker.state.cluster import BrokerConfig

#: Short timeouts are allowed in these tests (Kafka's minimum is 6000 ms).
FAST = {"group.min.session.timeout.ms": "10"}


def run(fn: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    """Run the coroutine function ``fn`` on a fresh loop, bounded by ``timeout``."""
    return asyncio.run(asyncio.wait_for(fn(), timeout))


def make_broker(data_dir: Path | None = None, extra: dict[str, str] | None = None,
                **config: Any) -> Broker:
    """Return a broker whose group coordinator is started (call inside the loop)."""
    broker = Broker(BrokerConfig(extra={**FAST, **(extra or {})}, **config), data_dir)
    broker.groups.start()
    return broker


def join(member_id: str = "", protocols: tuple[tuple[str, bytes], ...] = (("range", b"m"),),
         session: int = 10_000, rebalance: int = 10_000, instance: str | None = None,
         v4: bool = True, protocol_type: str = "consumer") -> JoinRequest:
    """Return a JoinGroup request as the coordinator sees it."""
    return JoinRequest(member_id, instance, "client", "/127.0.0.1", session, rebalance,
                       protocol_type, list(protocols), v4)


async def settle(outcome: Any, timeout: float = 5.0) -> dict[str, Any]:
    """Return the response now, or await the parked request's response."""
    if isinstance(outcome, dict):
        return outcome
    return await asyncio.wait_for(asyncio.shield(outcome), timeout)


async def until(fn: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``fn`` on the loop until it is truthy (the async ``eventually``).

    Raises:
        AssertionError: it stayed falsy for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout}s: {value!r}")
        await asyncio.sleep(0.01)


async def stable_group(broker: Broker, group_id: str, n: int, **kw: Any) -> list[str]:
    """Form a Stable group of ``n`` members joining together (JoinGroup v3 style);
    return their member ids, the leader first."""
    g = broker.groups
    futs = [g.join_group(group_id, join(v4=False, **kw)) for _ in range(n)]
    responses = [await settle(f) for f in futs]
    leader = responses[0]["leader"]
    ids = [r["member_id"] for r in responses]
    gen = responses[0]["generation_id"]
    assignments = {m: f"a-{m}".encode() for m in ids}
    syncs = [g.sync_group(group_id, m, None, gen, None, None,
                          assignments if m == leader else {}) for m in ids]
    for s in syncs:
        assert (await settle(s))["error_code"] == 0
    return [leader] + [m for m in ids if m != leader]


def hb(member_id: str = "", epoch: int = 0, topics: list[str] | None = None,
       owned: dict[Any, set[int]] | None = None, group: str = "g", **kw: Any) -> HeartbeatRequest:
    """Return a ConsumerGroupHeartbeat as the coordinator sees it."""
    return HeartbeatRequest(group, member_id, epoch, subscribed_topic_names=topics, owned=owned,
                            rebalance_timeout_ms=kw.pop("rebalance", 10_000), **kw)
