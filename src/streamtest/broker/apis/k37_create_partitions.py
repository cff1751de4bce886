"""CreatePartitions (key 37), versions 0-3: grows a topic to ``count`` partitions,
placing the new replicas over the live nodes (or as ``assignments`` say)."""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.topics import TopicError


@api(37, "CreatePartitions", 0, 3)
def handle_create_partitions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Add partitions to each named topic."""
    cluster = ctx.cluster
    results = []
    for t in request.topics:
        res: dict[str, Any] = {"name": t.name, "error_code": ErrorCode.NONE, "error_message": None}
        results.append(res)
        topic = cluster.topics.get(t.name)
        if topic is None:
            res["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            res["error_message"] = f"The topic '{t.name}' does not exist."
            continue
        assignments = (
            [list(a.broker_ids) for a in t.assignments] if t.assignments is not None else None
        )
        try:
            cluster.topic_service.add_partitions(
                topic, t.count, assignments, validate_only=request.validate_only
            )
        except TopicError as exc:
            res["error_code"], res["error_message"] = exc.code, exc.message
    return {"throttle_time": 0, "results": results}
