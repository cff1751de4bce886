"""DeleteTopics (key 20), versions 1-6 (v6 can name topics by ID, KIP-516).

Deleting a topic drops its logs (and its files, with a data directory), wakes any
Fetch parked on it, and forgets its producer state.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(20, "DeleteTopics", 1, 6)
def handle_delete_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Delete each named topic."""
    state = ctx.broker.state
    wanted: list[tuple[str | None, uuid.UUID | None]]
    if ctx.version >= 6:
        wanted = [(t.name, t.topic_id) for t in request.topics]
    else:
        wanted = [(name, None) for name in request.topic_names]
    responses = []
    for name, topic_id in wanted:
        res: dict[str, Any] = {"name": name, "topic_id": topic_id or uuid.UUID(int=0),
                               "error_code": ErrorCode.NONE, "error_message": None}
        responses.append(res)
        if name is None and topic_id is not None:
            topic = state.topics_by_id.get(topic_id)
            if topic is None:
                res["error_code"] = ErrorCode.UNKNOWN_TOPIC_ID
                continue
            name = res["name"] = topic.name
        topic = state.delete_topic(name or "")
        if topic is None:
            res["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            res["error_message"] = "This server does not host this topic-partition."
            continue
        res["topic_id"] = topic.topic_id
        for log in topic.partitions:
            ctx.broker.producers.forget_partition(log.topic, log.index)
        ctx.broker.groups.offsets.delete_topic(topic.name)
    return {"throttle_time": 0, "responses": responses}
