"""ListConfigResources (key 74), versions 0-1 (KIP-1142; v0 was
ListClientMetricsResources, KIP-714).

v0 lists client-metrics resources only; streamtest has no client-metrics
subscriptions (KIP-714 telemetry is not collected), so the list is empty, as on a
Kafka cluster where none was configured. v1 lists the resources of the requested
types (all types for an empty list), as Kafka 4.x does: every topic (TOPIC, 2),
every node (BROKER, 4), the receiving node's loggers (BROKER_LOGGER, 8: Kafka lists
its own id), client-metrics resources (16: none) and groups that have configs
(GROUP, 32: none, until group configs are set). A type that has no config
resources (or is unknown) is UNSUPPORTED_VERSION, as Apache Kafka 4.4 answers it.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api

TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP = 2, 4, 8, 16, 32
_KNOWN = (TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP)


@api(74, "ListConfigResources", 0, 1)
def handle_list_config_resources(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """List the config resources of the requested types."""
    cluster = ctx.cluster
    if ctx.version == 0:
        return {"throttle_time": 0, "error_code": ErrorCode.NONE, "config_resources": []}
    wanted = [int(t) for t in request.resource_types] or list(_KNOWN)
    unknown = [t for t in wanted if t not in _KNOWN]
    if unknown:
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.UNSUPPORTED_VERSION,
            "config_resources": [],
        }
    out: list[dict[str, Any]] = []
    if BROKER_LOGGER in wanted:
        out.append({"resource_name": str(ctx.node.node_id), "resource_type": BROKER_LOGGER})
    if BROKER in wanted:
        out += [{"resource_name": str(i), "resource_type": BROKER} for i in cluster.node_ids()]
    if TOPIC in wanted:
        out += [{"resource_name": t.name, "resource_type": TOPIC} for t in cluster.topics]
    return {"throttle_time": 0, "error_code": ErrorCode.NONE, "config_resources": out}
