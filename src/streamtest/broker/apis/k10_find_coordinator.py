"""FindCoordinator (key 10), versions 0-6.

Names the node that coordinates a group (key_type 0) or a transactional id
(key_type 1): ``Cluster.coordinator_for``. v0-3 ask for one key; v4+ (KIP-699)
batch several in ``coordinator_keys`` and get one entry per key.

* INVALID_REQUEST for an unknown key type or an empty transactional id.
* COORDINATOR_NOT_AVAILABLE while no live node can coordinate the key.
Left out: share groups (key_type 2, KIP-932).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api

GROUP, TRANSACTION = 0, 1


def _coordinator(ctx: RequestContext, key: str, key_type: int) -> dict[str, Any]:
    code, message = ErrorCode.NONE, None
    if key_type not in (GROUP, TRANSACTION):
        code, message = ErrorCode.INVALID_REQUEST, f"Unknown coordinator type {key_type}"
    elif key_type == TRANSACTION and not key:
        code, message = ErrorCode.INVALID_REQUEST, "Transactional id can't be empty"
    node = None
    if code == ErrorCode.NONE:
        node = ctx.cluster.coordinator_for(key_type, key)
        if node is None:
            code, message = ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available."
    return {
        "key": key,
        "node_id": node.node_id if node else -1,
        "host": node.advertised_host if node else "",
        "port": node.port if node else -1,
        "error_code": code,
        "error_message": message,
    }


@api(10, "FindCoordinator", 0, 6)
def handle_find_coordinator(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Name this broker as the coordinator of each requested key."""
    key_type = getattr(request, "key_type", GROUP)
    if ctx.version >= 4:
        return {
            "throttle_time": 0,
            "coordinators": [_coordinator(ctx, k, key_type) for k in request.coordinator_keys],
        }
    one = _coordinator(ctx, request.key, key_type)
    return {"throttle_time": 0, **{k: v for k, v in one.items() if k != "key"}}
