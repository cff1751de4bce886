"""DeleteRecords (key 21), versions 0-2.

Advances each partition's log start offset; offset -1 means the high watermark.
Records below the new start can no longer be fetched (OFFSET_OUT_OF_RANGE).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.partitions import leader_partition


@api(21, "DeleteRecords", 0, 2)
def handle_delete_records(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Move each partition's log start offset forward."""
    table = ctx.cluster.topics
    topics = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            res: dict[str, Any] = {"partition_index": p.partition_index, "low_watermark": -1,
                                   "error_code": ErrorCode.NONE}
            parts.append(res)
            injected = ctx.fault(t.name, p.partition_index)
            if injected:
                res["error_code"] = injected
                continue
            log, code = leader_partition(table, ctx.node.node_id, t.name, p.partition_index)
            if log is None or code:
                res["error_code"] = code
                continue
            offset = log.high_watermark if p.offset == -1 else p.offset
            if offset < 0 or offset > log.high_watermark:
                res["error_code"] = ErrorCode.OFFSET_OUT_OF_RANGE
                continue
            if offset > log.log_start_offset:
                ctx.cluster.replicas.delete_records_before(log, offset)
            res["low_watermark"] = log.log_start_offset
        topics.append({"name": t.name, "partitions": parts})
    return {"throttle_time": 0, "topics": topics}
