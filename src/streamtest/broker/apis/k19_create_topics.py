"""CreateTopics (key 19), versions 2-7.

Partitions (-1 means the broker default), configs and ``validate_only``.
Replication factor must be 1 or -1 (one broker): otherwise
INVALID_REPLICATION_FACTOR, as a one-node Kafka answers. v5+ returns the
resulting configs; v7 the topic ID.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..state.cluster import Topic, is_valid_topic_name
from ..state.configs import TOPIC_CONFIG_DEFAULTS, validate_topic_config
from .k32_describe_configs import topic_config_entries


@api(19, "CreateTopics", 2, 7)
def handle_create_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Create (or, with validate_only, just check) each requested topic."""
    state = ctx.broker.state
    results = []
    seen: set[str] = set()
    for t in request.topics:
        res: dict[str, Any] = {"name": t.name, "error_code": ErrorCode.NONE, "error_message": None,
                               "num_partitions": -1, "replication_factor": -1, "configs": []}
        results.append(res)
        error = _validate(state, t, seen)
        seen.add(t.name)
        if error is not None:
            res["error_code"], res["error_message"] = error
            continue
        partitions = t.num_partitions if t.num_partitions > 0 else state.config.default_partitions
        if t.assignments:
            partitions = len(t.assignments)
        configs = {c.name: c.value for c in t.configs if c.value is not None}
        res["num_partitions"] = partitions
        res["replication_factor"] = 1
        if request.validate_only:
            preview = Topic(t.name, __import__("uuid").UUID(int=0), [], configs)
            res["configs"] = _created_configs(preview)
            continue
        topic = state.create_topic(t.name, partitions, configs)
        res["topic_id"] = topic.topic_id
        res["configs"] = _created_configs(topic)
    return {"throttle_time": 0, "topics": results}


def _validate(state: Any, t: Any, seen: set[str]) -> tuple[ErrorCode, str] | None:
    if t.name in seen:
        return ErrorCode.INVALID_REQUEST, f"Topic {t.name} appears more than once"
    reason = is_valid_topic_name(t.name)
    if reason is not None:
        return ErrorCode.INVALID_TOPIC_EXCEPTION, reason
    if t.name in state.topics:
        return ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{t.name}' already exists."
    if t.num_partitions == 0 or t.num_partitions < -1:
        return ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0."
    if t.replication_factor not in (-1, 1) and not t.assignments:
        return (
            ErrorCode.INVALID_REPLICATION_FACTOR,
            f"Unable to replicate the partition {t.replication_factor} time(s): "
            "The target replication factor of "
            f"{t.replication_factor} cannot be reached because only 1 broker(s) are registered.",
        )
    for c in t.configs:
        problem = validate_topic_config(c.name, c.value)
        if problem is not None:
            return ErrorCode.INVALID_CONFIG, problem
    return None


def _created_configs(topic: Topic) -> list[dict[str, Any]]:
    return [
        {"name": e["name"], "value": e["value"], "read_only": False,
         "config_source": e["config_source"], "is_sensitive": False}
        for e in topic_config_entries(topic, None)
        if e["name"] in TOPIC_CONFIG_DEFAULTS
    ]
