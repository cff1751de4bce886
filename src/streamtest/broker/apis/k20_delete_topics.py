"""DeleteTopics (key 20), versions 1-6 (v6 can name topics by ID, KIP-516).

Deleting a topic drops its partitions and replica logs (and their files, with a
data directory), wakes any Fetch parked on it, forgets its producer state, and
drops the committed offsets groups had for it (``services/topics.py``).
TOPIC_DELETION_DISABLED when ``delete.topic.enable`` is false.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.topics import TopicError


@api(20, "DeleteTopics", 1, 6)
def handle_delete_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Delete each named topic."""
    cluster = ctx.cluster
    table = cluster.topics
    wanted: list[tuple[str | None, uuid.UUID | None]]
    if ctx.version >= 6:
        wanted = [(t.name, t.topic_id) for t in request.topics]
    else:
        wanted = [(name, None) for name in request.topic_names]
    enabled = bool(cluster.settings["delete.topic.enable"])
    responses = []
    for name, topic_id in wanted:
        res: dict[str, Any] = {
            "name": name,
            "topic_id": topic_id or uuid.UUID(int=0),
            "error_code": ErrorCode.NONE,
            "error_message": None,
        }
        responses.append(res)
        if name is None and topic_id is not None:
            found = table.by_id.get(topic_id)
            if found is None:
                res["error_code"] = ErrorCode.UNKNOWN_TOPIC_ID
                continue
            name = res["name"] = found.name
        injected = ctx.fault(name)
        if injected:
            res["error_code"] = injected
            continue
        if not enabled:
            res["error_code"] = ErrorCode.TOPIC_DELETION_DISABLED
            res["error_message"] = "Topic deletion is disabled."
            continue
        try:
            topic = cluster.topic_service.delete(name or "")
        except TopicError as exc:
            res["error_code"], res["error_message"] = exc.code, exc.message
            continue
        res["topic_id"] = topic.topic_id
    return {"throttle_time": 0, "responses": responses}
