"""DescribeCluster (key 60), versions 0-1 (KIP-700): the one broker, which is also
the controller. v1's endpoint_type 2 (controllers, KIP-919) gets
MISMATCHED_ENDPOINT_TYPE, as from a Kafka broker."""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..state.cluster import NODE_ID


@api(60, "DescribeCluster", 0, 1)
def handle_describe_cluster(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe the cluster: its id, the controller and the broker."""
    broker = ctx.broker
    if getattr(request, "endpoint_type", 1) != 1:
        # KIP-919: only a controller answers endpoint_type 2; we are a broker.
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.MISMATCHED_ENDPOINT_TYPE,
            "error_message": "The request was sent to an endpoint of type BROKER, but we "
            "wanted an endpoint of type CONTROLLER",
            "endpoint_type": 1,
            "cluster_id": "",
            "controller_id": -1,
            "brokers": [],
            "cluster_authorized_operations": -(2**31),
        }
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "endpoint_type": 1,
        "cluster_id": broker.config.cluster_id,
        "controller_id": NODE_ID,
        "brokers": [{"broker_id": NODE_ID, "host": broker.host, "port": broker.port, "rack": None}],
        "cluster_authorized_operations": -(2**31),
    }
