"""ElectLeaders (key 43), versions 0-2 (KIP-183 preferred, KIP-460 unclean).

* PREFERRED (0): the first assigned replica becomes leader if it is a live
  in-sync replica: ELECTION_NOT_NEEDED when it already leads,
  PREFERRED_LEADER_NOT_AVAILABLE when it cannot lead.
* UNCLEAN (1): only for a partition without a leader; any live replica may
  lead, out of sync or not (data may be lost): ELECTION_NOT_NEEDED when the
  partition has a leader, ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is up.
* A null partition list means every partition; as in Kafka, partitions whose
  election was not needed are then left out of the answer.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..topics import NO_LEADER, Partition

PREFERRED, UNCLEAN = 0, 1


def _elect(ctx: RequestContext, partition: Partition, election_type: int) -> ErrorCode:
    replicas = ctx.cluster.replicas
    if election_type == PREFERRED:
        preferred = partition.replicas[0]
        if partition.leader == preferred:
            return ErrorCode.ELECTION_NOT_NEEDED
        if preferred not in replicas.candidates(partition):
            return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
        replicas.set_leader(partition, preferred)
        return ErrorCode.NONE
    if partition.leader != NO_LEADER:
        return ErrorCode.ELECTION_NOT_NEEDED
    if replicas.elect(partition, unclean=True) == NO_LEADER:
        return ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE
    return ErrorCode.NONE


@api(43, "ElectLeaders", 0, 2)
def handle_elect_leaders(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Run the requested election on each named partition (or on all)."""
    election_type = getattr(request, "election_type", PREFERRED)
    table = ctx.cluster.topics
    if election_type not in (PREFERRED, UNCLEAN):
        return {"throttle_time": 0, "error_code": ErrorCode.INVALID_REQUEST,
                "replica_election_results": []}
    wanted = request.topic_partitions
    everything = wanted is None
    if everything:
        wanted_pairs = [(t.name, p.index) for t in table for p in t.partitions]
    else:
        wanted_pairs = [(t.topic, int(p)) for t in wanted for p in t.partitions]
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for topic, index in wanted_pairs:
        partition = table.partition(topic, index)
        if partition is None:
            code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None
        else:
            code = _elect(ctx, partition, election_type)
            message = None
        if everything and code == ErrorCode.ELECTION_NOT_NEEDED:
            continue
        by_topic.setdefault(topic, []).append(
            {"partition_id": index, "error_code": code, "error_message": message}
        )
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "replica_election_results": [
            {"topic": name, "partition_result": parts} for name, parts in by_topic.items()
        ],
    }
