"""Metadata (key 3), versions 0-13.

* A null topic list means all topics; an empty list means none (v1+).
* Unknown topics are auto-created when the broker allows it
  (``auto.create.topics.enable``) and the request does (``allow_auto_topic_creation``,
  v4+); otherwise UNKNOWN_TOPIC_OR_PARTITION.
* Topic IDs (KIP-516) are returned from v10 on. v12 lookups by topic ID are served.
* Brokers are the live nodes; each partition reports its leader, leader epoch,
  replicas, ISR and offline replicas (replicas on stopped nodes). A partition with
  no live leader reports LEADER_NOT_AVAILABLE and leader -1.
* Authorized operations (v8+), when asked, are every operation, as Kafka answers
  with no authorizer (``services/authorization.py``).
* v13 (KIP-1102) adds a top-level error code, which only REBOOTSTRAP_REQUIRED
  would fill; a streamtest cluster never asks a client to rebootstrap, so it is 0.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import CloseConnection, RequestContext, api
from ..services.authorization import (
    AUTH_OPS_UNSET,
    CLUSTER_OPERATIONS,
    TOPIC_OPERATIONS,
    operations,
)
from ..services.nodes import broker_entries
from ..services.topics import TopicError, TopicSpec
from ..topics import NO_LEADER, Topic, is_valid_topic_name

_AUTH_OPS_UNSET = AUTH_OPS_UNSET


def topic_metadata(topic: Topic, live: set[int]) -> dict[str, Any]:
    """Describe one existing topic for the Metadata response (``live``: node ids up)."""
    partitions = []
    for p in topic.partitions:
        leader = p.leader if p.leader in live else NO_LEADER
        partitions.append(
            {
                "error_code": ErrorCode.NONE
                if leader != NO_LEADER
                else ErrorCode.LEADER_NOT_AVAILABLE,
                "partition_index": p.index,
                "leader_id": leader,
                "leader_epoch": p.leader_epoch,
                "replica_nodes": list(p.replicas),
                "isr_nodes": list(p.isr),
                "offline_replicas": [r for r in p.replicas if r not in live],
            }
        )
    return {
        "error_code": ErrorCode.NONE,
        "name": topic.name,
        "topic_id": topic.topic_id,
        "is_internal": topic.internal,
        "partitions": partitions,
        "topic_authorized_operations": _AUTH_OPS_UNSET,
    }


def _missing(name: str | None, topic_id: uuid.UUID | None, code: ErrorCode) -> dict[str, Any]:
    return {
        "error_code": code,
        "name": name,
        "topic_id": topic_id or uuid.UUID(int=0),
        "is_internal": False,
        "partitions": [],
        "topic_authorized_operations": _AUTH_OPS_UNSET,
    }


def _auto_create(ctx: RequestContext, name: str) -> Topic | ErrorCode:
    try:
        return ctx.cluster.topic_service.create(TopicSpec(name))
    except TopicError as exc:
        # Kafka answers LEADER_NOT_AVAILABLE while an auto-created topic is set up,
        # and the client retries; a refusal (too few nodes) surfaces as that code.
        return exc.code


@api(3, "Metadata", 0, 13)
def handle_metadata(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe the live nodes and the requested topics."""
    cluster = ctx.cluster
    table = cluster.topics
    live = set(cluster.live_node_ids())
    requested = request.topics
    if requested is None or (ctx.version == 0 and not requested):
        # v0 had no null: an empty list meant "all topics".
        topics = [topic_metadata(t, live) for t in table]
    else:
        allow_create = getattr(request, "allow_auto_topic_creation", True) and bool(
            cluster.settings["auto.create.topics.enable"]
        )
        topics = []
        for item in requested:
            name = item.name
            item_id = getattr(item, "topic_id", None)
            if ctx.version < 12 and (name is None or (item_id is not None and item_id.int)):
                # Kafka: "Topic name can not be null for version N" / "Topic IDs are
                # not supported in requests for version N" (InvalidRequestException).
                raise CloseConnection(
                    f"Topic name can not be null for version {ctx.version}"
                    if name is None
                    else f"Topic IDs are not supported in requests for version {ctx.version}"
                )
            injected = ctx.fault(name) if name is not None else 0
            if injected:
                topics.append(_missing(name, None, ErrorCode(injected)))
                continue
            topic_id = getattr(item, "topic_id", None)
            topic: Topic | ErrorCode | None = None
            if name is None and topic_id is not None and topic_id.int != 0:
                topic = table.by_id.get(topic_id)
                if topic is None:
                    topics.append(_missing(None, topic_id, ErrorCode.UNKNOWN_TOPIC_ID))
                    continue
            elif name is not None:
                topic = table.get(name)
                if topic is None:
                    if is_valid_topic_name(name) is not None:
                        topics.append(_missing(name, None, ErrorCode.INVALID_TOPIC_EXCEPTION))
                        continue
                    if allow_create:
                        topic = _auto_create(ctx, name)
            if isinstance(topic, ErrorCode):
                topics.append(_missing(name, None, topic))
            elif topic is None:
                topics.append(_missing(name, None, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            else:
                topics.append(topic_metadata(topic, live))
    if getattr(request, "include_topic_authorized_operations", False):
        for entry in topics:
            entry["topic_authorized_operations"] = TOPIC_OPERATIONS
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "brokers": broker_entries(cluster),
        "cluster_id": cluster.cluster_id,
        "controller_id": cluster.controller_id,
        "topics": topics,
        "cluster_authorized_operations": operations(
            CLUSTER_OPERATIONS, getattr(request, "include_cluster_authorized_operations", False)
        ),
    }
