"""OffsetDelete (key 47), version 0 (KIP-496).

Deletes committed offsets of some partitions of a group. A partition of a topic
the live group subscribes to gets GROUP_SUBSCRIBED_TO_TOPIC; an unknown group
GROUP_ID_NOT_FOUND; a non-empty group whose subscriptions cannot be read (not
the consumer protocol) NON_EMPTY_GROUP; an unknown partition
UNKNOWN_TOPIC_OR_PARTITION.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.coordinators import group_error


@api(47, "OffsetDelete", 0, 0)
def handle_offset_delete(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Delete the group's offsets for the named partitions."""
    table = ctx.cluster.topics
    wanted = []
    missing = set()
    for t in request.topics:
        for p in t.partitions:
            if table.partition(t.name, p.partition_index) is None:
                missing.add((t.name, p.partition_index))
            else:
                wanted.append((t.name, p.partition_index))
    not_here = group_error(ctx, request.group_id)
    if not_here:
        return {"throttle_time": 0, "error_code": not_here, "topics": []}
    top, results = ctx.cluster.groups.delete_offsets(request.group_id, wanted)
    if top:
        return {"throttle_time": 0, "error_code": top, "topics": []}
    for tp in missing:
        results[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "topics": [
            {
                "name": t.name,
                "partitions": [
                    {
                        "partition_index": p.partition_index,
                        "error_code": results.get((t.name, p.partition_index), ErrorCode.NONE),
                    }
                    for p in t.partitions
                ],
            }
            for t in request.topics
        ],
    }
