"""ListPartitionReassignments (key 46), version 0 (KIP-455): the reassignments that
are still ongoing (a target node was down), all or for the named partitions."""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(46, "ListPartitionReassignments", 0, 0)
def handle_list_partition_reassignments(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """List ongoing reassignments."""
    cluster = ctx.cluster
    wanted = None
    if request.topics is not None:
        wanted = {(t.name, int(i)) for t in request.topics for i in t.partition_indexes}
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for (topic, index), (target, original) in sorted(cluster.reassignments.items()):
        if wanted is not None and (topic, index) not in wanted:
            continue
        partition = cluster.topics.partition(topic, index)
        if partition is None:
            continue
        by_topic.setdefault(topic, []).append(
            {
                "partition_index": index,
                "replicas": list(partition.replicas),
                "adding_replicas": [r for r in target if r not in original],
                "removing_replicas": [r for r in original if r not in target],
            }
        )
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "topics": [{"name": name, "partitions": parts} for name, parts in by_topic.items()],
    }
