"""CreatePartitions (key 37), versions 0-3: grows a topic to ``count`` partitions."""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(37, "CreatePartitions", 0, 3)
def handle_create_partitions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Add partitions to each named topic."""
    state = ctx.broker.state
    results = []
    for t in request.topics:
        res: dict[str, Any] = {"name": t.name, "error_code": ErrorCode.NONE, "error_message": None}
        results.append(res)
        topic = state.topics.get(t.name)
        if topic is None:
            res["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            res["error_message"] = f"The topic '{t.name}' does not exist."
            continue
        current = len(topic.partitions)
        if t.count <= current:
            res["error_code"] = ErrorCode.INVALID_PARTITIONS
            res["error_message"] = (
                f"Topic currently has {current} partitions, which is higher than or equal "
                f"to the requested {t.count}."
            )
            continue
        if not request.validate_only:
            state.add_partitions(topic, t.count)
    return {"throttle_time": 0, "results": results}
