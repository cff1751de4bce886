"""CreateTopics (key 19), versions 2-7.

Partitions and replication factor (-1 means the broker defaults, ``num.partitions``
and ``default.replication.factor``), explicit replica assignments, configs and
``validate_only``; the rules live in ``services/topics.py``
(INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
INVALID_REPLICATION_FACTOR when there are fewer live nodes than replicas,
INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG). v5+ returns the resulting configs;
v7 the topic ID.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.configs import TOPIC_CONFIGS, topic_config_entries
from ..services.topics import TopicError, TopicSpec
from ..topics import Topic


@api(19, "CreateTopics", 2, 7)
def handle_create_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Create (or, with validate_only, just check) each requested topic."""
    service = ctx.cluster.topic_service
    results = []
    answered: set[str] = set()
    names = [t.name for t in request.topics]
    # As Kafka: a name given twice creates neither and is answered once.
    duplicates = {n for n in names if names.count(n) > 1}
    for t in request.topics:
        if t.name in duplicates:
            if t.name not in answered:
                answered.add(t.name)
                results.append(_duplicate(t.name))
            continue
        res: dict[str, Any] = {
            "name": t.name,
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "num_partitions": -1,
            "replication_factor": -1,
            "configs": [],
        }
        results.append(res)
        injected = ctx.fault(t.name)
        if injected:
            res["error_code"] = injected
            continue
        spec = TopicSpec(
            t.name,
            t.num_partitions,
            t.replication_factor,
            [list(a.broker_ids) for a in t.assignments] or None,
            {c.name: c.value for c in t.configs if c.value is not None},
        )
        try:
            topic = service.create(spec, validate_only=request.validate_only)
            if request.validate_only:
                count, assignments = service.check(spec)
                res["num_partitions"] = count
                res["replication_factor"] = len(assignments[0])
                # Kafka answers validate_only with a fresh id, of a topic never made.
                res["topic_id"] = uuid.uuid4()
            else:
                res["num_partitions"] = len(topic.partitions)
                res["replication_factor"] = topic.replication_factor
                res["topic_id"] = topic.topic_id
        except TopicError as exc:
            res["error_code"], res["error_message"] = exc.code, exc.message
            continue
        res["configs"] = _created_configs(topic)
    return {"throttle_time": 0, "topics": results}


def _duplicate(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "error_code": ErrorCode.INVALID_REQUEST,
        "error_message": "Duplicate topic name.",
        "num_partitions": -1,
        "replication_factor": -1,
        "configs": [],
    }


def _created_configs(topic: Topic) -> list[dict[str, Any]]:
    return [
        {
            "name": e["name"],
            "value": e["value"],
            "read_only": False,
            "config_source": e["config_source"],
            "is_sensitive": False,
        }
        for e in topic_config_entries(topic, None)
        if e["name"] in TOPIC_CONFIGS
    ]
