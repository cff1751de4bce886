"""AlterShareGroupOffsets (key 91), version 0: move an empty share group's start offsets.

Each named partition gets the new share-partition start offset with a new state
epoch and no records in flight (``SharePartitionManager.alter_offset``); the
group reads from there at its next fetch. As in Kafka:

* NON_EMPTY_GROUP ("The group is not empty.") while the group has members;
* a group that does not exist yet is created, empty, as a share group;
* GROUP_ID_NOT_FOUND for a classic or consumer group;
* UNKNOWN_TOPIC_OR_PARTITION per partition that does not exist.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..groups.share import ShareGroup
from ..services.coordinators import group_error

_NOT_HOSTED = "This server does not host this topic-partition."


def _top(code: int, message: str | None = None) -> dict[str, Any]:
    return {"throttle_time": 0, "error_code": code, "error_message": message, "responses": []}


@api(91, "AlterShareGroupOffsets", 0, 0)
def handle_alter_share_group_offsets(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Set the start offsets of an empty share group."""
    group_id = request.group_id
    if not group_id:
        return _top(ErrorCode.INVALID_GROUP_ID)
    not_here = group_error(ctx, group_id)
    if not_here:
        return _top(not_here)
    groups = ctx.cluster.groups
    group = groups.group(group_id)
    if group is not None and not isinstance(group, ShareGroup):
        return _top(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a share group.")
    if group is not None and not group.is_empty:
        return _top(ErrorCode.NON_EMPTY_GROUP, "The group is not empty.")
    if group is None:
        groups.create_share_group(group_id)
    responses = []
    for t in request.topics:
        topic = ctx.cluster.topics.get(t.topic_name)
        parts = []
        for p in t.partitions:
            entry: dict[str, Any] = {
                "partition_index": p.partition_index,
                "error_code": ErrorCode.NONE,
                "error_message": None,
            }
            partition = ctx.cluster.topics.partition(t.topic_name, p.partition_index)
            if partition is None:
                entry["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                entry["error_message"] = _NOT_HOSTED
            else:
                ctx.cluster.shares.alter_offset(group_id, partition, p.start_offset)
            parts.append(entry)
        responses.append(
            {
                "topic_name": t.topic_name,
                "topic_id": topic.topic_id if topic is not None else None,
                "partitions": parts,
            }
        )
    # Kafka answers the unknown topics first.
    responses.sort(key=lambda r: r["topic_id"] is not None)
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "responses": responses,
    }
