"""OffsetFetch (key 9), versions 1-10.

Returns each requested partition's committed offset, leader epoch and metadata,
or offset -1 where nothing is committed (no error, as Kafka does, also for a
group that does not exist).

* v2+: a null topic list means every partition the group has committed.
* v8+ (KIP-709): several groups per request, each with its own error code.
* v9+ (KIP-848): a member id and epoch; for a consumer group they are checked
  (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH).
* v10 names topics by id (UNKNOWN_TOPIC_ID for an unknown one).
* v7+ ``require_stable`` (KIP-447): a partition with offsets staged by an open
  transaction (TxnOffsetCommit) answers UNSTABLE_OFFSET_COMMIT, and the client
  retries until the transaction ends, so a consumer taking over a partition does
  not start from an offset that is about to change.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..groups.offsets import OffsetAndMetadata

_ZERO = uuid.UUID(int=0)


def _partition(index: int, value: OffsetAndMetadata | None, code: int = 0) -> dict[str, Any]:
    return {
        "partition_index": index,
        "committed_offset": value.offset if value else -1,
        "committed_leader_epoch": value.leader_epoch if value else -1,
        "metadata": value.metadata if value else "",
        "error_code": code,
    }


def fetch_group(
    ctx: RequestContext,
    group_id: str,
    topics: Any,
    member_id: str | None,
    member_epoch: int,
    by_id: bool,
    require_stable: bool = False,
) -> dict[str, Any]:
    """Return one group's OffsetFetch result (``topics`` None means all)."""
    groups = ctx.broker.groups
    state = ctx.broker.state
    error = groups.validate_offset_fetch(group_id, member_id, member_epoch)
    if error:
        return {"group_id": group_id, "topics": [], "error_code": error}
    committed = groups.offsets.group_offsets(group_id)
    unstable = (
        ctx.broker.transactions.pending_offset_partitions(group_id) if require_stable else set()
    )
    out: list[dict[str, Any]] = []
    if topics is None:
        by_topic: dict[str, list[dict[str, Any]]] = {}
        for (name, index), value in sorted(committed.items()):
            if (name, index) in unstable:
                value_part = _partition(index, None, ErrorCode.UNSTABLE_OFFSET_COMMIT)
            else:
                value_part = _partition(index, value)
            by_topic.setdefault(name, []).append(value_part)
        for name, parts in by_topic.items():
            topic = state.topics.get(name)
            if by_id and topic is None:
                continue  # v10 cannot name a deleted topic
            out.append(
                {"name": name, "topic_id": topic.topic_id if topic else _ZERO, "partitions": parts}
            )
    else:
        for t in topics:
            if by_id:
                topic = state.topics_by_id.get(t.topic_id)
                name = topic.name if topic else None
            else:
                name = t.name
            code = ErrorCode.UNKNOWN_TOPIC_ID if by_id and name is None else ErrorCode.NONE
            parts = [
                _partition(i, None, ErrorCode.UNSTABLE_OFFSET_COMMIT)
                if (name, i) in unstable
                else _partition(i, committed.get((name, i)) if name else None, code)
                for i in t.partition_indexes
            ]
            out.append(
                {"name": name or "", "topic_id": getattr(t, "topic_id", _ZERO), "partitions": parts}
            )
    return {"group_id": group_id, "topics": out, "error_code": ErrorCode.NONE}


@api(9, "OffsetFetch", 1, 10)
def handle_offset_fetch(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Report committed offsets of one group (v1-7) or of several (v8+)."""
    if ctx.version >= 8:
        return {
            "throttle_time": 0,
            "groups": [
                fetch_group(
                    ctx,
                    g.group_id,
                    g.topics,
                    getattr(g, "member_id", None),
                    getattr(g, "member_epoch", -1),
                    ctx.version >= 10,
                    bool(getattr(request, "require_stable", False)),
                )
                for g in request.groups
            ],
        }
    one = fetch_group(
        ctx, request.group_id, request.topics, None, -1, False,
        bool(getattr(request, "require_stable", False)),
    )
    return {"throttle_time": 0, "topics": one["topics"], "error_code": one["error_code"]}
