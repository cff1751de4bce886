"""Fetch (key 1), versions 4-16.

* Long poll: the request is parked until ``min_bytes`` are available or
  ``max_wait_ms`` passes; appends wake it.
* ``max_bytes`` and ``partition_max_bytes`` bound the response, but the first
  batch of the first non-empty partition is always returned whole (KIP-74).
* OFFSET_OUT_OF_RANGE below the log start offset or above the high watermark,
  with -1 for the partition's offsets (as Kafka).
* read_committed (isolation_level 1) reads up to the last stable offset and gets
  the aborted-transactions list (KIP-98).
* Topic IDs from v13 (KIP-516): UNKNOWN_TOPIC_ID for an unknown ID.
* Sessionless: every response has session_id 0, which tells clients that ask for
  a session (KIP-227) that none was created, so they send full fetches. A request
  naming a session we never issued gets FETCH_SESSION_ID_NOT_FOUND.
The response is encoded by hand (``protocol.fetch``) as a list of buffers that
includes the stored batches themselves, never joined.
Left out: follower fetching and preferred read replicas (one broker).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ...protocol.errors import ErrorCode
from ...protocol.fetch import FetchPartitionData, FetchTopicData, encode_fetch_response
from ..dispatch import RequestContext, api
from ..state.log import PartitionLog

READ_COMMITTED = 1


@api(1, "Fetch", 4, 16)
def handle_fetch(ctx: RequestContext, request: Any) -> Any:
    """Answer at once if enough data (or an error) is there; else park the request."""
    if getattr(request, "session_id", 0) != 0:
        return encode_fetch_response(
            ctx.version, [], error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND
        )
    topics, size, logs, errored = _collect(ctx, request)
    max_wait = request.max_wait.total_seconds()
    if size >= request.min_bytes or max_wait <= 0 or errored or not logs:
        return encode_fetch_response(ctx.version, topics)
    return _long_poll(ctx, request, logs, max_wait)


async def _long_poll(
    ctx: RequestContext, request: Any, logs: list[PartitionLog], max_wait: float
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + max_wait
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        fut: asyncio.Future[None] = loop.create_future()
        for log in logs:
            log.waiters.add(fut)
        try:
            await asyncio.wait_for(fut, remaining)
        except TimeoutError:
            break
        finally:
            for log in logs:
                log.waiters.discard(fut)
        topics, size, logs, errored = _collect(ctx, request)
        if size >= request.min_bytes or errored:
            return encode_fetch_response(ctx.version, topics)
    topics, _size, _logs, _errored = _collect(ctx, request)
    return encode_fetch_response(ctx.version, topics)


def _collect(
    ctx: RequestContext, request: Any
) -> tuple[list[FetchTopicData], int, list[PartitionLog], bool]:
    """Read what each requested partition has; return the topics, the bytes found,
    the logs read, and whether any partition had an error."""
    state = ctx.broker.state
    by_id = ctx.version >= 13
    read_committed = request.isolation_level == READ_COMMITTED
    budget = request.max_bytes if request.max_bytes > 0 else 2**31 - 1
    total = 0
    errored = False
    logs: list[PartitionLog] = []
    out: list[FetchTopicData] = []
    for t in request.topics:
        topic = state.topics_by_id.get(t.topic_id) if by_id else state.topics.get(t.topic)
        name = topic.name if topic else (getattr(t, "topic", None) or "")
        topic_id = topic.topic_id if topic else getattr(t, "topic_id", None)
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
            log = topic.partitions[p.partition]
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
            limit = min(p.partition_max_bytes, budget - total)
            if limit <= 0 and total > 0:
                continue
            end = log.last_stable_offset if read_committed else log.log_end_offset
            batches = log.read(offset, max(limit, 0), at_least_one=total == 0, end=end)
            if read_committed:
                data.aborted_transactions = log.aborted_in_range(offset, end) if batches else []
            data.records = batches
            total += data.records_size
        out.append(FetchTopicData(name, topic_id, parts))  # type: ignore[arg-type]
    return out, total, logs, errored
