"""DeleteRecords (key 21), versions 0-2.

Advances each partition's log start offset; offset -1 means the high watermark.
Records below the new start can no longer be fetched (OFFSET_OUT_OF_RANGE).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(21, "DeleteRecords", 0, 2)
def handle_delete_records(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Move each partition's log start offset forward."""
    state = ctx.broker.state
    topics = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            res: dict[str, Any] = {"partition_index": p.partition_index, "low_watermark": -1,
                                   "error_code": ErrorCode.NONE}
            parts.append(res)
            log = state.partition(t.name, p.partition_index)
            if log is None:
                res["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            offset = log.high_watermark if p.offset == -1 else p.offset
            if offset < 0 or offset > log.high_watermark:
                res["error_code"] = ErrorCode.OFFSET_OUT_OF_RANGE
                continue
            if offset > log.log_start_offset:
                log.delete_records_before(offset)
                state.persist_log_start(log)
            res["low_watermark"] = log.log_start_offset
        topics.append({"name": t.name, "partitions": parts})
    return {"throttle_time": 0, "topics": topics}
