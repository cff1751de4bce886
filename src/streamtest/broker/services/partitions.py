"""Finding the partition a request names, and whether this node may serve it.

Produce, Fetch, ListOffsets, DeleteRecords and OffsetForLeaderEpoch are served by
a partition's leader only. A node that is not the leader answers
NOT_LEADER_OR_FOLLOWER, as a Kafka broker does (clients then refresh their
metadata, or use the new leader that KIP-951 puts in the response).
"""

from __future__ import annotations

from ...protocol.errors import ErrorCode
from ..topics import Partition, TopicTable


def leader_partition(
    topics: TopicTable, node_id: int, topic: str, index: int, current_leader_epoch: int = -1
) -> tuple[Partition | None, ErrorCode]:
    """Return the partition if ``node_id`` leads it, else the error to answer.

    ``current_leader_epoch`` is the epoch the client believes current (KIP-320:
    Fetch v9+, ListOffsets v4+, OffsetForLeaderEpoch v2+); -1 skips the check.

    Returns:
        ``(partition, NONE)``; ``(None, UNKNOWN_TOPIC_OR_PARTITION)`` for a partition
        that does not exist; ``(partition, FENCED_LEADER_EPOCH)`` for an older epoch
        and ``(partition, UNKNOWN_LEADER_EPOCH)`` for a newer one, as Kafka checks
        before leadership; ``(partition, NOT_LEADER_OR_FOLLOWER)`` when another
        node leads it (or none does).
    """
    partition = topics.partition(topic, index)
    if partition is None:
        return None, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    if node_id in partition.replicas and current_leader_epoch >= 0:
        if current_leader_epoch < partition.leader_epoch:
            return partition, ErrorCode.FENCED_LEADER_EPOCH
        if current_leader_epoch > partition.leader_epoch:
            return partition, ErrorCode.UNKNOWN_LEADER_EPOCH
    if partition.leader != node_id or not partition.online:
        return partition, ErrorCode.NOT_LEADER_OR_FOLLOWER
    return partition, ErrorCode.NONE
