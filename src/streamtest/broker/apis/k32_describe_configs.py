"""DescribeConfigs (key 32), versions 1-4.

Topics report every known topic config, with ``config_source`` 1
(DYNAMIC_TOPIC_CONFIG) for values set on the topic and 5 (DEFAULT_CONFIG)
otherwise; synonyms when asked (v1+). The broker (resource type 4) reports the
handful of settings the embedded broker has.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..state.cluster import NODE_ID, Topic
from ..state.configs import TOPIC_CONFIG_DEFAULTS

TOPIC, BROKER = 2, 4
DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG = 1, 4, 5
_TYPE_STRING, _TYPE_INT, _TYPE_LONG, _TYPE_BOOLEAN, _TYPE_DOUBLE, _TYPE_LIST = 2, 3, 5, 1, 6, 7


def _config_type(name: str) -> int:
    default = TOPIC_CONFIG_DEFAULTS.get(name, "")
    if name == "cleanup.policy":
        return _TYPE_LIST
    if default in ("true", "false"):
        return _TYPE_BOOLEAN
    if name.endswith(".ratio"):
        return _TYPE_DOUBLE
    if default.lstrip("-").isdigit():
        return _TYPE_LONG if name.endswith((".ms", ".bytes")) or len(default) > 9 else _TYPE_INT
    return _TYPE_STRING


def topic_config_entries(topic: Topic, keys: Any, synonyms: bool = False) -> list[dict[str, Any]]:
    """Describe ``topic``'s configs (all, or just ``keys``)."""
    out = []
    for name, default in TOPIC_CONFIG_DEFAULTS.items():
        if keys is not None and name not in keys:
            continue
        is_set = name in topic.configs
        entry: dict[str, Any] = {
            "name": name,
            "value": topic.configs.get(name, default),
            "read_only": False,
            "is_default": not is_set,
            "config_source": DYNAMIC_TOPIC_CONFIG if is_set else DEFAULT_CONFIG,
            "is_sensitive": False,
            "synonyms": [],
            "config_type": _config_type(name),
            "documentation": None,
        }
        if synonyms:
            if is_set:
                entry["synonyms"].append(
                    {"name": name, "value": topic.configs[name], "source": DYNAMIC_TOPIC_CONFIG}
                )
            entry["synonyms"].append({"name": name, "value": default, "source": DEFAULT_CONFIG})
        out.append(entry)
    return out


def broker_config_entries(ctx: RequestContext, keys: Any) -> list[dict[str, Any]]:
    """Describe the broker's own settings."""
    cfg = ctx.broker.config
    values = {
        "broker.id": str(NODE_ID),
        "num.partitions": str(cfg.default_partitions),
        "auto.create.topics.enable": str(cfg.auto_create_topics).lower(),
        "socket.request.max.bytes": str(cfg.max_frame_size),
        "group.initial.rebalance.delay.ms": str(cfg.group_initial_rebalance_delay_ms),
        "offsets.retention.minutes": str(cfg.offsets_retention_minutes),
        "transaction.max.timeout.ms": str(cfg.transaction_max_timeout_ms),
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        **cfg.extra,
    }
    return [
        {"name": k, "value": v, "read_only": True, "is_default": False,
         "config_source": STATIC_BROKER_CONFIG, "is_sensitive": False, "synonyms": [],
         "config_type": _TYPE_STRING, "documentation": None}
        for k, v in values.items()
        if keys is None or k in keys
    ]


@api(32, "DescribeConfigs", 1, 4)
def handle_describe_configs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe each requested topic or broker resource."""
    state = ctx.broker.state
    synonyms = getattr(request, "include_synonyms", False)
    results = []
    for r in request.resources:
        res: dict[str, Any] = {"error_code": ErrorCode.NONE, "error_message": None,
                               "resource_type": r.resource_type,
                               "resource_name": r.resource_name, "configs": []}
        results.append(res)
        if r.resource_type == TOPIC:
            topic = state.topics.get(r.resource_name)
            if topic is None:
                res["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                res["error_message"] = f"Topic '{r.resource_name}' does not exist."
                continue
            res["configs"] = topic_config_entries(topic, r.configuration_keys, synonyms)
        elif r.resource_type == BROKER:
            if r.resource_name not in ("", str(NODE_ID)):
                res["error_code"] = ErrorCode.INVALID_REQUEST
                res["error_message"] = f"Unknown broker {r.resource_name}"
                continue
            res["configs"] = broker_config_entries(ctx, r.configuration_keys)
        else:
            res["error_code"] = ErrorCode.INVALID_REQUEST
            res["error_message"] = f"Unsupported resource type {r.resource_type}"
    return {"throttle_time": 0, "results": results}
