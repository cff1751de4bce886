"""DescribeTopicPartitions (key 75), version 0 (KIP-966): topic metadata with cursor
paging, as ``kafka-topics --describe`` reads it from Kafka 4.x.

As Kafka's ``DescribeTopicPartitionsRequestHandler``:

* an empty topic list means every topic; topics are answered sorted by name, from
  the cursor's topic on, and the cursor's partition is where that topic starts;
* at most ``min(response_partition_limit, max.request.partition.size.limit)``
  partitions (at least one) are answered; ``next_cursor`` then names the first
  partition left out (the next topic's partition 0 when a topic ended exactly at
  the limit);
* named topics that do not exist are UNKNOWN_TOPIC_OR_PARTITION (or
  INVALID_TOPIC_EXCEPTION for an illegal name); with every topic asked for, nothing
  is reported missing;
* a cursor whose topic is not in the named list, or with a negative partition, is
  INVALID_REQUEST for every named topic (Kafka's error response);
* a partition whose leader's node is down reports leader -1, and its replicas on
  stopped nodes as offline; ``topic_authorized_operations`` is every topic
  operation (no authorizer).

Eligible leader replicas (KIP-966 ELR) are empty: streamtest does not keep an ELR,
which Kafka fills only while a partition's ISR is below min.insync.replicas.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.authorization import AUTH_OPS_UNSET, TOPIC_OPERATIONS
from ..topics import NO_LEADER, Topic, is_valid_topic_name

_ZERO_UUID = uuid.UUID(int=0)


def _partition(p: Any, live: set[int]) -> dict[str, Any]:
    return {
        "error_code": ErrorCode.NONE,
        "partition_index": p.index,
        "leader_id": p.leader if p.leader in live and p.online else NO_LEADER,
        "leader_epoch": p.leader_epoch,
        "replica_nodes": list(p.replicas),
        "isr_nodes": list(p.isr),
        "eligible_leader_replicas": [],
        "last_known_elr": [],
        "offline_replicas": [r for r in p.replicas if r not in live],
    }


def _topic(topic: Topic, partitions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "error_code": ErrorCode.NONE,
        "name": topic.name,
        "topic_id": topic.topic_id,
        "is_internal": topic.internal,
        "partitions": partitions,
        "topic_authorized_operations": TOPIC_OPERATIONS,
    }


def _invalid(request: Any, message: str) -> dict[str, Any]:
    # DescribeTopicPartitionsRequest.getErrorResponse: every named topic gets the error.
    return {
        "throttle_time": 0,
        "topics": [
            {
                "error_code": ErrorCode.INVALID_REQUEST,
                "name": t.name,
                "topic_id": _ZERO_UUID,
                "is_internal": False,
                "partitions": [],
                "topic_authorized_operations": AUTH_OPS_UNSET,
            }
            for t in request.topics
        ],
        "next_cursor": None,
    }


@api(75, "DescribeTopicPartitions", 0, 0)
def handle_describe_topic_partitions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe topics and their partitions, one page at a time."""
    cluster = ctx.cluster
    cursor = request.cursor
    start_topic = cursor.topic_name if cursor is not None else ""
    every_topic = not request.topics
    if every_topic:
        names = {t.name for t in cluster.topics if t.name >= start_topic}
    else:
        names = {t.name for t in request.topics if t.name >= start_topic}
        if cursor is not None and cursor.topic_name not in names:
            return _invalid(
                request,
                "DescribeTopicPartitionsRequest topic list should contain the cursor "
                f"topic: {cursor.topic_name}",
            )
    if cursor is not None and cursor.partition_index < 0:
        return _invalid(request, "DescribeTopicPartitionsRequest cursor partition must be valid")
    limit = max(
        min(
            int(cluster.settings["max.request.partition.size.limit"]),
            request.response_partition_limit,
        ),
        1,
    )
    live = set(cluster.live_node_ids())
    remaining = limit
    topics: list[dict[str, Any]] = []
    next_cursor = None
    for name in sorted(names):
        if remaining == 0:
            next_cursor = {"topic_name": name, "partition_index": 0}
            break
        topic = cluster.topics.get(name)
        if topic is None:
            if not every_topic:
                problem = is_valid_topic_name(name)
                topics.append(
                    {
                        "error_code": ErrorCode.INVALID_TOPIC_EXCEPTION
                        if problem
                        else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                        "name": name,
                        "topic_id": _ZERO_UUID,
                        "is_internal": False,
                        "partitions": [],
                        "topic_authorized_operations": TOPIC_OPERATIONS,
                    }
                )
            continue
        first = cursor.partition_index if cursor is not None and name == start_topic else 0
        upper = min(len(topic.partitions), first + remaining)
        topics.append(_topic(topic, [_partition(p, live) for p in topic.partitions[first:upper]]))
        if upper < len(topic.partitions):
            next_cursor = {"topic_name": name, "partition_index": upper}
            break
        remaining -= max(upper - first, 0)
    return {"throttle_time": 0, "topics": topics, "next_cursor": next_cursor}
