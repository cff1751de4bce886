"""DescribeShareGroupOffsets (key 90), versions 0-1: where share groups stand.

Per partition: the share-partition start offset (SPSO) and the partition's leader
epoch, and from v1 (KIP-1226) the lag: the records from the SPSO to the end the
group may read (high watermark, or last stable offset for read_committed
groups), less those already acknowledged or archived. A partition the group has
not read yet has start offset -1 and lag -1.

* ``topics`` null: every partition of the topics the members subscribe to, and
  every partition the group has state for; named topics: those partitions (one
  that does not exist, or of a topic that does not exist, is answered as one the
  group never read, without an error, as Kafka 4.4 does).
* A group that does not exist, or is not a share group, has no topics (as Kafka
  answers); NOT_COORDINATOR from a node that does not coordinate the group.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.coordinators import group_error


def _partition(ctx: RequestContext, group_id: str, topic: str, index: int) -> dict[str, Any]:
    partition = ctx.cluster.topics.partition(topic, index)
    if partition is None:
        # Kafka answers a partition (or topic) that does not exist like one the
        # group never read: no error, start offset and lag -1, leader epoch 0.
        return {
            "partition_index": index,
            "start_offset": -1,
            "leader_epoch": 0,
            "lag": -1,
            "error_code": ErrorCode.NONE,
            "error_message": None,
        }
    start, lag = ctx.cluster.shares.describe_offset(group_id, partition)
    return {
        "partition_index": index,
        "start_offset": start,
        "leader_epoch": partition.leader_epoch,
        "lag": lag,
        "error_code": ErrorCode.NONE,
        "error_message": None,
    }


def _all_partitions(ctx: RequestContext, group_id: str) -> dict[str, list[int]]:
    """Return the partitions a null ``topics`` means: subscribed or with state."""
    cluster = ctx.cluster
    wanted: dict[str, set[int]] = {}
    group = cluster.groups.share_group(group_id)
    if group is not None:
        for name in group.subscribed_topics():
            topic = cluster.topics.get(name)
            if topic is not None:
                wanted.setdefault(name, set()).update(range(len(topic.partitions)))
    for key in cluster.shares.state_keys(group_id):
        topic = cluster.topics.by_id.get(key.topic_id)
        if topic is not None and key.partition < len(topic.partitions):
            wanted.setdefault(topic.name, set()).add(key.partition)
    return {name: sorted(ps) for name, ps in sorted(wanted.items())}


def _group(ctx: RequestContext, g: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "group_id": g.group_id,
        "topics": [],
        "error_code": ErrorCode.NONE,
        "error_message": None,
    }
    not_here = group_error(ctx, g.group_id)
    if not_here:
        out["error_code"] = not_here
        return out
    if ctx.cluster.groups.share_group(g.group_id) is None and not ctx.cluster.shares.state_keys(
        g.group_id
    ):
        return out
    if g.topics is None:
        wanted = _all_partitions(ctx, g.group_id)
    else:
        wanted = {t.topic_name: list(t.partitions) for t in g.topics}
    for name, partitions in wanted.items():
        topic = ctx.cluster.topics.get(name)
        out["topics"].append(
            {
                "topic_name": name,
                "topic_id": topic.topic_id if topic is not None else None,
                "partitions": [_partition(ctx, g.group_id, name, i) for i in partitions],
            }
        )
    return out


@api(90, "DescribeShareGroupOffsets", 0, 1)
def handle_describe_share_group_offsets(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe the start offsets (and lag) of each requested share group."""
    return {"throttle_time": 0, "groups": [_group(ctx, g) for g in request.groups]}
