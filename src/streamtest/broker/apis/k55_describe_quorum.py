"""DescribeQuorum (key 55), versions 0-2 (KIP-595, KIP-836, KIP-853): the KRaft
metadata quorum, as ``kafka-metadata-quorum describe`` reads it.

What is reported, and what it stands for in a cluster that has no Raft log, is in
``broker/quorum.py``: every node is a voter, the leader is the active controller,
the high watermark is a position that grows with each metadata change. A topic
other than ``__cluster_metadata`` or a partition other than 0 is
UNKNOWN_TOPIC_OR_PARTITION with Kafka's message, as Kafka answers it.

v2's ``nodes`` lists each voter's endpoint: a streamtest node has one listener
(there is no separate controller listener), so that is the one listed.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..quorum import METADATA_PARTITION, METADATA_TOPIC

_NOT_HOSTED = "This server does not host this topic-partition."


@api(55, "DescribeQuorum", 0, 2)
def handle_describe_quorum(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe the metadata quorum's partition."""
    cluster = ctx.cluster
    quorum = cluster.quorum
    topics = []
    for t in request.topics:
        partitions = []
        for p in t.partitions:
            if t.topic_name != METADATA_TOPIC or p.partition_index != METADATA_PARTITION:
                partitions.append(
                    {
                        "partition_index": p.partition_index,
                        "error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                        "error_message": _NOT_HOSTED,
                        "leader_id": 0,
                        "leader_epoch": 0,
                        "high_watermark": 0,
                        "current_voters": [],
                        "observers": [],
                    }
                )
                continue
            voters = [{**v, "replica_directory_id": uuid.UUID(int=0)} for v in quorum.voters()]
            partitions.append(
                {
                    "partition_index": p.partition_index,
                    "error_code": ErrorCode.NONE,
                    "error_message": "",
                    "leader_id": quorum.leader_id,
                    "leader_epoch": quorum.leader_epoch,
                    "high_watermark": quorum.high_watermark(),
                    "current_voters": voters,
                    "observers": [],
                }
            )
        topics.append({"topic_name": t.topic_name, "partitions": partitions})
    nodes = []
    if any(p["error_code"] == ErrorCode.NONE for t in topics for p in t["partitions"]):
        nodes = [
            {
                "node_id": n.node_id,
                "listeners": [{"name": "PLAINTEXT", "host": n.advertised_host, "port": n.port}],
            }
            for n in (cluster.nodes[i] for i in cluster.node_ids())
        ]
    return {"error_code": ErrorCode.NONE, "error_message": "", "topics": topics, "nodes": nodes}
