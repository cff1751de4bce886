"""DescribeConfigs (key 32), versions 1-4.

* TOPIC (2): every topic config Kafka 4.x has, with ``config_source`` 1
  (DYNAMIC_TOPIC_CONFIG) for values set on the topic, and otherwise the source of
  the broker setting it defaults to (STATIC_BROKER_CONFIG when set at start,
  DYNAMIC_DEFAULT_BROKER_CONFIG when altered, DEFAULT_CONFIG), with synonyms when
  asked (v1+) and the config type (v3+); see ``services/configs.py``.
* BROKER (4): every broker setting of ``config.py`` for node ``N`` (its own
  ``node.id``, ``broker.id``, ``process.roles``, ``listeners``,
  ``advertised.listeners`` and ``log.dirs`` as static configs, and its own dynamic
  values, source 2); synonyms list every level where a setting has a value,
  highest first. The empty name describes the cluster-wide level as Kafka does:
  only the values set there (source 3, DYNAMIC_DEFAULT_BROKER_CONFIG), among them
  ``min.insync.replicas``, which a new KRaft cluster records there (KIP-966).
* GROUP (32): the group configs of KIP-848 and KIP-932 groups
  (``services/group_configs.py``): ``config_source`` 8 (GROUP_CONFIG) for values
  set on the group, else the source of the broker setting they default to. Any
  group id may be described, whether or not the group exists; the empty id gets
  INVALID_REQUEST.
* Any other resource type: INVALID_REQUEST.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.configs import broker_config_entries, topic_config_entries
from ..services.group_configs import GroupConfigError

TOPIC, BROKER, GROUP = 2, 4, 32


def node_values(ctx: RequestContext, node_id: int) -> dict[str, str]:
    """Return what node ``node_id`` sets for itself."""
    cluster = ctx.cluster
    node = cluster.nodes[node_id]
    data_dir = cluster.data_dir
    out = {
        "node.id": str(node_id),
        "broker.id": str(node_id),
        "process.roles": "broker,controller",
        "listeners": f"PLAINTEXT://{node.host}:{node.port}",
        "advertised.listeners": f"PLAINTEXT://{node.advertised_host}:{node.port}",
        "log.dirs": cluster.log_dir(node_id),
    }
    if data_dir is not None:
        out["log.dir"] = out["log.dirs"]
    return out


@api(32, "DescribeConfigs", 1, 4)
def handle_describe_configs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe each requested topic or broker resource."""
    cluster = ctx.cluster
    synonyms = getattr(request, "include_synonyms", False)
    results = []
    for r in request.resources:
        res: dict[str, Any] = {
            "error_code": ErrorCode.NONE,
            # Kafka answers an empty message, not null, for a resource it describes.
            "error_message": "",
            "resource_type": r.resource_type,
            "resource_name": r.resource_name,
            "configs": [],
        }
        results.append(res)
        if r.resource_type == TOPIC:
            topic = cluster.topics.get(r.resource_name)
            if topic is None:
                res["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                res["error_message"] = f"Topic '{r.resource_name}' does not exist."
                continue
            res["configs"] = topic_config_entries(topic, r.configuration_keys, synonyms)
        elif r.resource_type == BROKER:
            own: dict[str, str] | None = None
            node_id: int | None = None
            if r.resource_name != "":
                try:
                    node_id = int(r.resource_name)
                except ValueError:
                    node_id = -1
                if node_id not in cluster.nodes:
                    res["error_code"] = ErrorCode.INVALID_REQUEST
                    res["error_message"] = (
                        f"Unexpected broker id, expected one of "
                        f"{cluster.node_ids()} or empty string, but received {r.resource_name}"
                    )
                    continue
                own = node_values(ctx, node_id)
            res["configs"] = broker_config_entries(
                cluster.settings, r.configuration_keys, synonyms, own, node_id
            )
        elif r.resource_type == GROUP:
            try:
                res["configs"] = cluster.group_configs.describe(
                    r.resource_name,
                    r.configuration_keys,
                    synonyms,
                    getattr(request, "include_documentation", False),
                )
            except GroupConfigError as exc:
                res["error_code"], res["error_message"] = exc.code, str(exc)
        else:
            res["error_code"] = ErrorCode.INVALID_REQUEST
            res["error_message"] = f"Unsupported resource type {r.resource_type}"
    return {"throttle_time": 0, "results": results}
