"""DescribeCluster (key 60), versions 0-1 (KIP-700): the cluster id, the active
controller (the lowest live node id) and the live nodes; with
``include_cluster_authorized_operations``, every cluster operation, as Kafka answers
with no authorizer (``services/authorization.py``). v1's endpoint_type 2
(controllers, KIP-919) gets MISMATCHED_ENDPOINT_TYPE, as from a Kafka broker."""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.authorization import CLUSTER_OPERATIONS, operations
from ..services.nodes import broker_entries


@api(60, "DescribeCluster", 0, 1)
def handle_describe_cluster(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe the cluster: its id, the controller and the nodes."""
    cluster = ctx.cluster
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
        "cluster_id": cluster.cluster_id,
        "controller_id": cluster.controller_id,
        "brokers": [
            {"broker_id": b["node_id"], "host": b["host"], "port": b["port"], "rack": b["rack"]}
            for b in broker_entries(cluster)
        ],
        "cluster_authorized_operations": operations(
            CLUSTER_OPERATIONS, request.include_cluster_authorized_operations
        ),
    }
