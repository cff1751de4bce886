"""Metadata (key 3), versions 0-12.

* A null topic list means all topics; an empty list means none (v1+).
* Unknown topics are auto-created when the broker allows it and the request does
  (``allow_auto_topic_creation``, v4+); otherwise UNKNOWN_TOPIC_OR_PARTITION.
* Topic IDs (KIP-516) are returned from v10 on. v12 lookups by topic ID are served.
* The one broker is node 0 and leads every partition, with leader epoch 0.
Left out: authorized operations (always -2147483648, "not requested").
"""

from __future__ import annotations

import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..state.cluster import INTERNAL_TOPICS, NODE_ID, Topic, is_valid_topic_name

_AUTH_OPS_UNSET = -(2**31)


def topic_metadata(topic: Topic) -> dict[str, Any]:
    """Describe one existing topic for the Metadata response."""
    return {
        "error_code": ErrorCode.NONE,
        "name": topic.name,
        "topic_id": topic.topic_id,
        "is_internal": topic.name in INTERNAL_TOPICS,
        "partitions": [
            {
                "error_code": ErrorCode.NONE,
                "partition_index": p.index,
                "leader_id": NODE_ID,
                "leader_epoch": p.leader_epoch,
                "replica_nodes": [NODE_ID],
                "isr_nodes": [NODE_ID],
                "offline_replicas": [],
            }
            for p in topic.partitions
        ],
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


@api(3, "Metadata", 0, 12)
def handle_metadata(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe the broker and the requested topics."""
    state = ctx.broker.state
    requested = request.topics
    if requested is None or (ctx.version == 0 and not requested):
        # v0 had no null: an empty list meant "all topics".
        topics = [topic_metadata(t) for t in state.topics.values()]
    else:
        allow_create = getattr(request, "allow_auto_topic_creation", True)
        topics = []
        for item in requested:
            name = item.name
            topic_id = getattr(item, "topic_id", None)
            topic = None
            if name is None and topic_id is not None and topic_id.int != 0:
                topic = state.topics_by_id.get(topic_id)
                if topic is None:
                    topics.append(_missing(None, topic_id, ErrorCode.UNKNOWN_TOPIC_ID))
                    continue
            elif name is not None:
                topic = state.topics.get(name)
                if topic is None:
                    if is_valid_topic_name(name) is not None:
                        topics.append(_missing(name, None, ErrorCode.INVALID_TOPIC_EXCEPTION))
                        continue
                    if allow_create and state.config.auto_create_topics:
                        topic = state.create_topic(name)
            if topic is None:
                topics.append(_missing(name, None, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            else:
                topics.append(topic_metadata(topic))
    broker = ctx.broker
    return {
        "throttle_time": 0,
        "brokers": [{"node_id": NODE_ID, "host": broker.host, "port": broker.port, "rack": None}],
        "cluster_id": state.config.cluster_id,
        "controller_id": NODE_ID,
        "topics": topics,
        "cluster_authorized_operations": _AUTH_OPS_UNSET,
    }
