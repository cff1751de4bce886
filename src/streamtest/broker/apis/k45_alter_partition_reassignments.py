"""AlterPartitionReassignments (key 45), versions 0-1 (KIP-455).

Each partition gets a new replica list: new replicas copy the log from the
leader and join the ISR, then the removed ones drop theirs, and leadership moves
if its node left. When every target node is up this completes before the answer;
a target node that is down keeps the reassignment ongoing (ListPartitionReassignments
shows it) until the node comes back. A null replica list cancels an ongoing one.

* INVALID_REPLICA_ASSIGNMENT for an empty list, duplicates or unknown nodes;
  INVALID_REPLICATION_FACTOR when v1's ``allow_replication_factor_change`` is false
  and the count changes; NO_REASSIGNMENT_IN_PROGRESS for cancelling none;
  UNKNOWN_TOPIC_OR_PARTITION for a missing partition.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(45, "AlterPartitionReassignments", 0, 1)
def handle_alter_partition_reassignments(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Start (or cancel) each partition's reassignment."""
    cluster = ctx.cluster
    allow_rf_change = getattr(request, "allow_replication_factor_change", True)
    responses = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            res: dict[str, Any] = {"partition_index": p.partition_index,
                                   "error_code": ErrorCode.NONE, "error_message": None}
            parts.append(res)
            partition = cluster.topics.partition(t.name, p.partition_index)
            if partition is None:
                res["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            if p.replicas is None:
                if not cluster.cancel_reassignment(partition):
                    res["error_code"] = ErrorCode.NO_REASSIGNMENT_IN_PROGRESS
                continue
            target = [int(r) for r in p.replicas]
            unknown = [r for r in target if r not in cluster.nodes]
            if not target or len(set(target)) != len(target) or unknown:
                res["error_code"] = ErrorCode.INVALID_REPLICA_ASSIGNMENT
                res["error_message"] = (
                    f"Unknown broker(s) {unknown}" if unknown
                    else "The replica list is empty or has duplicates."
                )
                continue
            if not allow_rf_change and len(target) != len(partition.replicas):
                res["error_code"] = ErrorCode.INVALID_REPLICATION_FACTOR
                res["error_message"] = (
                    "The replication factor is changed from "
                    f"{len(partition.replicas)} to {len(target)}"
                )
                continue
            cluster.start_reassignment(partition, target)
        responses.append({"name": t.name, "partitions": parts})
    return {
        "throttle_time": 0,
        "allow_replication_factor_change": allow_rf_change,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "responses": responses,
    }
