"""Fetch (key 1), versions 4-16.

* Long poll: the request is parked until ``min_bytes`` are available or
  ``max_wait_ms`` passes; appends wake it.
* ``max_bytes`` and ``partition_max_bytes`` bound the response, but the first
  batch of the first non-empty partition is always returned whole (KIP-74).
* OFFSET_OUT_OF_RANGE below the log start offset or above the high watermark,
  with -1 for the partition's offsets (as Kafka).
* NOT_LEADER_OR_FOLLOWER when this node does not lead the partition, naming the
  leader from v16 (KIP-951); FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a
  stale or future ``current_leader_epoch`` (v9+, KIP-320); ``diverging_epoch``
  (v12+) when the fetcher's ``last_fetched_epoch`` shows its log diverged.
* Long polls wait on the cluster's clock (a manual clock holds them until advanced).
* read_committed (isolation_level 1) reads up to the last stable offset and gets
  the aborted-transactions list (KIP-98).
* Topic IDs from v13 (KIP-516): UNKNOWN_TOPIC_ID for an unknown ID.
* Sessionless: every response has session_id 0, which tells clients that ask for
  a session (KIP-227) that none was created, so they send full fetches. A request
  naming a session we never issued gets FETCH_SESSION_ID_NOT_FOUND.
* ``max_bytes`` is capped at the broker's ``fetch.max.bytes``.
* ``consumer_byte_rate`` quotas, as Kafka's KafkaApis: ``max_bytes`` is also
  capped at what the client's quota allows in one window; the response size is
  recorded for the client on this node; over the quota the response is empty,
  carries throttle_time_ms, and the connection is muted for it (KIP-219; before
  v8 the response itself is held back).
The response is encoded by hand (``protocol.fetch``) as a list of buffers that
includes the stored batches themselves, never joined.
Left out: follower fetching and preferred read replicas (one broker).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ...protocol.fetch import FetchPartitionData, FetchTopicData, encode_fetch_response
from ..dispatch import RequestContext, api
from ..services.partitions import leader_partition
from ..topics import Partition

READ_COMMITTED = 1


@api(1, "Fetch", 4, 16)
def handle_fetch(ctx: RequestContext, request: Any) -> Any:
    """Answer at once if enough data (or an error) is there; else park the request."""
    if getattr(request, "session_id", 0) != 0:
        return encode_fetch_response(
            ctx.version, [], error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND
        )
    budget = _max_bytes(ctx, request)
    topics, size, logs, errored = _collect(ctx, request, budget)
    max_wait = request.max_wait.total_seconds()
    if size >= min(request.min_bytes, budget) or max_wait <= 0 or errored or not logs:
        return _respond(ctx, topics)
    # Park now, not when the coroutine first runs: an append served before then
    # (another connection's Produce in the same loop turn) must wake this Fetch,
    # or it would sleep for max_wait with the data there.
    return _long_poll(ctx, request, budget, logs, _park(logs), max_wait)


def _park(logs: list[Partition]) -> asyncio.Future[bool | None]:
    """Return a future that an append to any of ``logs`` completes (with ``None``)."""
    fut: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()
    for log in logs:
        log.waiters.add(fut)
    return fut


def _expire(fut: asyncio.Future[bool | None]) -> None:
    if not fut.done():
        fut.set_result(True)


async def _long_poll(
    ctx: RequestContext,
    request: Any,
    budget: int,
    logs: list[Partition],
    fut: asyncio.Future[bool | None],
    max_wait: float,
) -> Any:
    clock = ctx.cluster.clock
    deadline = clock.monotonic() + max_wait
    while True:
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            for log in logs:
                log.waiters.discard(fut)
            break
        # A timer on the cluster's clock completes the same future: one await, and an
        # append wakes this task directly (no wait_for task in between).
        timer = clock.call_later(remaining, _expire, fut)
        try:
            expired = await fut
        finally:
            timer.cancel()
            for log in logs:
                log.waiters.discard(fut)
        if expired:
            break
        topics, size, logs, errored = _collect(ctx, request, budget)
        if size >= min(request.min_bytes, budget) or errored:
            return _respond(ctx, topics)
        fut = _park(logs)
    topics, _size, _logs, _errored = _collect(ctx, request, budget)
    return _respond(ctx, topics)


def _max_bytes(ctx: RequestContext, request: Any) -> int:
    """Return the response budget: the request's ``max_bytes``, the broker's
    ``fetch.max.bytes`` and what the client's fetch quota allows in one window,
    whichever is least (Kafka's KafkaApis)."""
    budget = request.max_bytes if request.max_bytes > 0 else 2**31 - 1
    budget = min(budget, int(ctx.cluster.settings["fetch.max.bytes"]))
    return ctx.node.quotas.fetch.cap(ctx.principal, ctx.header.client_id, budget)


def _respond(ctx: RequestContext, topics: list[FetchTopicData]) -> Any:
    """Encode the response, recording its size against the client's fetch quota.

    Over the quota, Kafka answers with no data (and takes the recorded bytes back)
    and the throttle time; the server then mutes the connection for it.
    """
    body = _encode(ctx, topics)
    fetch_quota = ctx.node.quotas.fetch
    if fetch_quota.enabled:
        size = sum(len(b) for b in body)
        throttle = fetch_quota.record(ctx.principal, ctx.header.client_id, size)
        if throttle > 0:
            fetch_quota.unrecord(ctx.principal, ctx.header.client_id, size)
            ctx.throttle("fetch", throttle)
            return encode_fetch_response(ctx.version, [], throttle_time_ms=throttle)
    if ctx.cluster.metrics is not None:
        ctx.cluster.metrics.fetched((t.name, [p.records for p in t.partitions]) for t in topics)
    return body


def _diverging(
    ctx: RequestContext, partition: Partition, last_epoch: int, offset: int
) -> tuple[int, int] | None:
    epoch, end = ctx.cluster.replicas.epochs(partition, partition.leader).end_offset_for(
        last_epoch, partition.log_end_offset
    )
    if epoch < last_epoch or end < offset:
        return epoch, end
    return None


_ZERO_ID = uuid.UUID(int=0)


def _encode(ctx: RequestContext, topics: list[FetchTopicData]) -> Any:
    leaders = {
        p.current_leader[0]
        for t in topics
        for p in t.partitions
        if p.current_leader is not None and p.current_leader[0] >= 0
    }
    endpoints = [
        (n.node_id, n.advertised_host, n.port, n.rack)
        for n in (ctx.cluster.nodes.get(i) for i in sorted(leaders))
        if n is not None
    ]
    return encode_fetch_response(ctx.version, topics, node_endpoints=endpoints)


def _collect(
    ctx: RequestContext, request: Any, budget: int
) -> tuple[list[FetchTopicData], int, list[Partition], bool]:
    """Read what each requested partition has, up to ``budget`` bytes; return the
    topics, the bytes found, the logs read, and whether any partition had an error."""
    table = ctx.cluster.topics
    by_id = ctx.version >= 13
    read_committed = request.isolation_level == READ_COMMITTED
    total = 0
    errored = False
    logs: list[Partition] = []
    node_id = ctx.node.node_id
    out: list[FetchTopicData] = []
    for t in request.topics:
        topic = table.by_id.get(t.topic_id) if by_id else table.get(t.topic)
        name = topic.name if topic else (getattr(t, "topic", None) or "")
        # kio reads the all-zero id as None; the answer names it as Kafka does (zeros).
        topic_id = topic.topic_id if topic else (getattr(t, "topic_id", None) or _ZERO_ID)
        parts: list[FetchPartitionData] = []
        for p in t.partitions:
            data = FetchPartitionData(p.partition)
            parts.append(data)
            if topic is None or not 0 <= p.partition < len(topic.partitions):
                data.error_code = (
                    ErrorCode.UNKNOWN_TOPIC_ID
                    if by_id and topic is None
                    else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                )
                # Kafka sends an empty (not null) aborted list with these errors.
                data.aborted_transactions = []
                errored = True
                continue
            injected = ctx.fault(name, p.partition)
            if injected:
                data.error_code = injected
                errored = True
                continue
            log, code = leader_partition(
                table, node_id, name, p.partition, getattr(p, "current_leader_epoch", -1)
            )
            assert log is not None
            if code:
                data.error_code = code
                if code != ErrorCode.UNKNOWN_LEADER_EPOCH:
                    data.current_leader = (log.leader, log.leader_epoch)
                errored = True
                continue
            logs.append(log)
            offset = p.fetch_offset
            if offset < log.log_start_offset or offset > log.high_watermark:
                # As Kafka: an error partition reports -1 for every offset, so a
                # client resets from ListOffsets rather than from these.
                data.error_code = ErrorCode.OFFSET_OUT_OF_RANGE
                errored = True
                continue
            data.high_watermark = log.high_watermark
            data.last_stable_offset = log.last_stable_offset
            data.log_start_offset = log.log_start_offset
            last_epoch = getattr(p, "last_fetched_epoch", -1)
            if last_epoch >= 0:
                diverging = _diverging(ctx, log, last_epoch, offset)
                if diverging is not None:
                    # KIP-320: the fetcher's log diverges from the leader's; say
                    # where instead of returning records it would append wrongly.
                    data.diverging_epoch = diverging
                    errored = True
                    continue
            limit = min(p.partition_max_bytes, budget - total)
            if limit <= 0 and total > 0:
                continue
            end = log.last_stable_offset if read_committed else data.high_watermark
            batches = log.read(offset, max(limit, 0), at_least_one=total == 0, end=end)
            if read_committed:
                data.aborted_transactions = log.aborted_in_range(offset, end) if batches else []
            data.records = batches
            total += data.records_size
        out.append(FetchTopicData(name, topic_id, parts))  # type: ignore[arg-type]
    return out, total, logs, errored
