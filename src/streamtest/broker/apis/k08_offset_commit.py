"""OffsetCommit (key 8), versions 2-10.

Validation first (``GroupCoordinator.validate_offset_commit``): a classic member
must name the current generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
FENCED_INSTANCE_ID; REBALANCE_IN_PROGRESS while the group waits for SyncGroup);
a KIP-848 member its current epoch (STALE_MEMBER_EPOCH, v9+). Generation -1
without a member id is a standalone/admin commit, accepted only for an empty
group. A group-level error is reported on every partition.

* v2-4 carry ``retention_time`` (-1: the broker's ``offsets.retention.minutes``).
* v6+: ``committed_leader_epoch``; v7+: ``group_instance_id``.
* v10 (KIP-848 follow-up) names topics by id: UNKNOWN_TOPIC_ID for an unknown id.
* UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist;
  OFFSET_METADATA_TOO_LARGE past 4096 bytes of metadata.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..groups.requests import millis
from ..services.coordinators import group_error as group_error_of


@api(8, "OffsetCommit", 2, 10)
def handle_offset_commit(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Validate the committer, then store each partition's offset."""
    groups = ctx.cluster.groups
    table = ctx.cluster.topics
    group_error = coordinator_error = group_error_of(ctx, request.group_id)
    if not coordinator_error:
        group_error = groups.validate_offset_commit(
            request.group_id,
            request.member_id,
            getattr(request, "group_instance_id", None),
            request.generation_id_or_member_epoch,
            ctx.version,
        )
    expire_at = None
    retention = getattr(request, "retention_time", None)
    if retention is not None and millis(retention) >= 0:
        expire_at = ctx.cluster.clock.now_ms() + millis(retention)
    by_id = ctx.version >= 10
    topics = []
    for t in request.topics:
        topic = table.by_id.get(t.topic_id) if by_id else table.get(t.name)
        parts = []
        name = topic.name if topic is not None else getattr(t, "name", None)
        for p in t.partitions:
            code = group_error or ctx.fault(name, p.partition_index)
            if not code:
                if topic is None:
                    code = (
                        ErrorCode.UNKNOWN_TOPIC_ID
                        if by_id
                        else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                    )
                elif not 0 <= p.partition_index < len(topic.partitions):
                    code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                else:
                    code = groups.commit_offset(
                        request.group_id,
                        topic.name,
                        p.partition_index,
                        p.committed_offset,
                        getattr(p, "committed_leader_epoch", -1),
                        p.committed_metadata,
                        expire_at,
                    )
            parts.append({"partition_index": p.partition_index, "error_code": code})
        topics.append(
            {
                "name": getattr(t, "name", ""),
                "topic_id": getattr(t, "topic_id", None) or uuid.UUID(int=0),
                "partitions": parts,
            }
        )
    return {"throttle_time": 0, "topics": topics}
