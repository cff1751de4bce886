"""OffsetForLeaderEpoch (key 23), versions 2-4 (KIP-101, KIP-279, KIP-320).

For each partition, the leader answers the end offset of the requested leader
epoch from its leader-epoch cache (``epochs.py``): the start offset of the next
larger epoch, or its log end offset for the current epoch. An epoch the cache
does not know is answered with the largest smaller epoch it knows; below every
known epoch the answer is ``(-1, -1)``. Consumers use it to detect log truncation
after an unclean election (KIP-320); followers use it to truncate.

* FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a stale or future
  ``current_leader_epoch`` (v2+); NOT_LEADER_OR_FOLLOWER on a non-leader;
  UNKNOWN_TOPIC_OR_PARTITION for a missing partition.
Left out: versions 0-1 (Kafka 4.0 removed them).
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..services.partitions import leader_partition


@api(23, "OffsetForLeaderEpoch", 2, 4)
def handle_offset_for_leader_epoch(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Answer each partition's end offset for its requested leader epoch."""
    cluster = ctx.cluster
    topics = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            res: dict[str, Any] = {
                "error_code": 0,
                "partition": p.partition,
                "leader_epoch": -1,
                "end_offset": -1,
            }
            parts.append(res)
            injected = ctx.fault(t.topic, p.partition)
            if injected:
                res["error_code"] = injected
                continue
            partition, code = leader_partition(
                cluster.topics, ctx.node.node_id, t.topic, p.partition, p.current_leader_epoch
            )
            if partition is None or code:
                res["error_code"] = code
                continue
            epoch, end = cluster.replicas.epochs(partition, partition.leader).end_offset_for(
                p.leader_epoch, partition.log_end_offset
            )
            res["leader_epoch"], res["end_offset"] = epoch, end
        topics.append({"topic": t.topic, "partitions": parts})
    return {"throttle_time": 0, "topics": topics}
