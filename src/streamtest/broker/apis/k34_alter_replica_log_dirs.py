"""AlterReplicaLogDirs (key 34), versions 1-2 (KIP-113).

Each node has one log directory (``services/logdirs.py``), so a replica can only be
"moved" to the directory it is in, which Kafka answers with NONE and nothing to do.
Another path is LOG_DIR_NOT_FOUND, as Kafka answers a directory that is not in its
``log.dirs``; a partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION and one
this node holds no replica of is NOT_LEADER_OR_FOLLOWER (Kafka's
``getPartitionOrException``).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(34, "AlterReplicaLogDirs", 1, 2)
def handle_alter_replica_log_dirs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Answer each partition's move to a log directory."""
    cluster = ctx.cluster
    node_id = ctx.node.node_id
    own_dir = cluster.log_dir(node_id)
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for d in request.dirs:
        for t in d.topics:
            for index in t.partitions:
                partition = cluster.topics.partition(t.name, int(index))
                if d.path != own_dir:
                    code = ErrorCode.LOG_DIR_NOT_FOUND
                elif partition is None:
                    code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                elif node_id not in partition.logs:
                    code = ErrorCode.NOT_LEADER_OR_FOLLOWER
                else:
                    code = ErrorCode.NONE
                by_topic.setdefault(t.name, []).append(
                    {"partition_index": int(index), "error_code": code}
                )
    return {
        "throttle_time": 0,
        "results": [{"topic_name": name, "partitions": parts} for name, parts in by_topic.items()],
    }
