"""DeleteShareGroupOffsets (key 92), version 0: forget an empty share group's
state of some topics; it starts over by ``share.auto.offset.reset`` when it next
reads them.

GROUP_ID_NOT_FOUND for a group that does not exist ("Group G not found.") or is
not a share group; NON_EMPTY_GROUP while it has members; UNKNOWN_TOPIC_OR_PARTITION
per topic that does not exist.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..groups.share import DEAD, ShareGroup
from ..services.coordinators import group_error


def _top(code: int, message: str | None = None) -> dict[str, Any]:
    return {"throttle_time": 0, "error_code": code, "error_message": message, "responses": []}


@api(92, "DeleteShareGroupOffsets", 0, 0)
def handle_delete_share_group_offsets(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Delete the share-partition state of each named topic."""
    group_id = request.group_id
    if not group_id:
        return _top(ErrorCode.INVALID_GROUP_ID)
    not_here = group_error(ctx, group_id)
    if not_here:
        return _top(not_here)
    group = ctx.cluster.groups.group(group_id)
    if group is None or group.state == DEAD:
        return _top(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} not found.")
    if not isinstance(group, ShareGroup):
        return _top(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a share group.")
    if not group.is_empty:
        return _top(ErrorCode.NON_EMPTY_GROUP, "The group is not empty.")
    responses = []
    for t in request.topics:
        topic = ctx.cluster.topics.get(t.topic_name)
        entry: dict[str, Any] = {
            "topic_name": t.topic_name,
            "topic_id": None,
            "error_code": ErrorCode.NONE,
            "error_message": None,
        }
        if topic is None:
            entry["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            entry["error_message"] = "This server does not host this topic-partition."
        else:
            entry["topic_id"] = topic.topic_id
            ctx.cluster.shares.delete_offsets(group_id, topic.topic_id)
        responses.append(entry)
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "responses": responses,
    }
