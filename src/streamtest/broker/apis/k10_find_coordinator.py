"""FindCoordinator (key 10), versions 0-6.

The one broker coordinates every group (key_type 0) and every transactional id
(key_type 1), so the answer is always node 0. v0-3 ask for one key; v4+ (KIP-699)
batch several in ``coordinator_keys`` and get one entry per key.

* INVALID_REQUEST for an unknown key type or an empty transactional id.
Left out: share groups (key_type 2, KIP-932).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..state.cluster import NODE_ID

GROUP, TRANSACTION = 0, 1


def _coordinator(ctx: RequestContext, key: str, key_type: int) -> dict[str, Any]:
    code, message = ErrorCode.NONE, None
    if key_type not in (GROUP, TRANSACTION):
        code, message = ErrorCode.INVALID_REQUEST, f"Unknown coordinator type {key_type}"
    elif key_type == TRANSACTION and not key:
        code, message = ErrorCode.INVALID_REQUEST, "Transactional id can't be empty"
    ok = code == ErrorCode.NONE
    return {
        "key": key,
        "node_id": NODE_ID if ok else -1,
        "host": ctx.broker.host if ok else "",
        "port": ctx.broker.port if ok else -1,
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
