"""DescribeLogDirs (key 35), versions 1-4 (KIP-113, KIP-827).

The receiving node describes its one log directory (``services/logdirs.py``):
every replica it holds, or those of the requested partitions, with the replica's
size in bytes and its lag behind the high watermark. ``total_bytes`` and
``usable_bytes`` (v4) are the data dir's volume, or -1 (Kafka's "unknown") for a
cluster kept in memory. Partitions the node holds no replica of are left out, as
Kafka leaves them out.
Left out: v5's ``is_cordoned`` (KIP-1066, Kafka 4.3); no directory is cordoned.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.logdirs import offset_lag, replica_size, volume_bytes


@api(35, "DescribeLogDirs", 1, 4)
def handle_describe_log_dirs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe this node's log directory and the replicas in it."""
    cluster = ctx.cluster
    node_id = ctx.node.node_id
    wanted: set[tuple[str, int]] | None = None
    if request.topics is not None:
        wanted = {(t.topic, int(p)) for t in request.topics for p in t.partitions}
    topics = []
    for topic in cluster.topics:
        partitions = [
            {
                "partition_index": p.index,
                "partition_size": replica_size(p, node_id),
                "offset_lag": offset_lag(p, node_id),
                "is_future_key": False,
            }
            for p in topic.partitions
            if node_id in p.logs and (wanted is None or (topic.name, p.index) in wanted)
        ]
        if partitions:
            topics.append({"name": topic.name, "partitions": partitions})
    total, usable = volume_bytes(cluster)
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "results": [
            {
                "error_code": ErrorCode.NONE,
                "log_dir": cluster.log_dir(node_id),
                "topics": topics,
                "total_bytes": total,
                "usable_bytes": usable,
            }
        ],
    }
