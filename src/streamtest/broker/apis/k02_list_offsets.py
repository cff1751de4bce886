"""ListOffsets (key 2), versions 1-9.

Timestamps: -2 earliest (the log start offset), -1 latest (the high watermark, or
the last stable offset for read_committed), -3 max timestamp (KIP-734), -4
earliest local and -5 latest tiered (KIP-1005; the same as -2 and -1 here: there
is no tiered storage). Any other value finds the first record whose timestamp is
at or after it (KIP-79), or answers offset -1 (and leader epoch -1) when there
is none. NOT_LEADER_OR_FOLLOWER when this node does not lead the partition; FENCED_
or UNKNOWN_LEADER_EPOCH for a stale or future ``current_leader_epoch`` (v4+, KIP-320).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.partitions import leader_partition

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -1, -2, -3, -4, -5


@api(2, "ListOffsets", 1, 9)
def handle_list_offsets(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Resolve each partition's requested timestamp to an offset."""
    table = ctx.cluster.topics
    read_committed = getattr(request, "isolation_level", 0) == 1
    topics = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            res: dict[str, Any] = {
                "partition_index": p.partition_index,
                "error_code": ErrorCode.NONE,
                "timestamp": -1,
                "offset": -1,
                "leader_epoch": -1,
            }
            parts.append(res)
            injected = ctx.fault(t.name, p.partition_index)
            if injected:
                res["error_code"] = injected
                continue
            log, code = leader_partition(
                table,
                ctx.node.node_id,
                t.name,
                p.partition_index,
                getattr(p, "current_leader_epoch", -1),
            )
            if log is None or code:
                res["error_code"] = code
                continue
            ts = p.timestamp
            if ts in (EARLIEST, EARLIEST_LOCAL):
                res["offset"] = log.log_start_offset
            elif ts in (LATEST, LATEST_TIERED):
                res["offset"] = log.last_stable_offset if read_committed else log.high_watermark
            elif ts == MAX_TIMESTAMP:
                found = log.max_timestamp_offset()
                if found is not None:
                    res["offset"], res["timestamp"] = found
            elif ts < 0:
                res["error_code"] = ErrorCode.INVALID_REQUEST
            else:
                found = log.offset_for_timestamp(ts)
                if found is not None:
                    res["offset"], res["timestamp"] = found
            # Kafka leaves leader_epoch at -1 when no offset was found.
            if res["offset"] >= 0:
                res["leader_epoch"] = log.leader_epoch
        topics.append({"name": t.name, "partitions": parts})
    return {"throttle_time": 0, "topics": topics}
