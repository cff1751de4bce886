"""FindCoordinator (key 10), versions 0-6.

Names the node that coordinates a group (key_type 0, share groups included) or
a transactional id (key_type 1), or the share coordinator of a share partition's
state (key_type 2, KIP-932: key ``group:topicId:partition``, the leader of its
``__share_group_state`` partition): ``Cluster.coordinator_for``. v0-3 ask for one
key; v4+ (KIP-699) batch several in ``coordinator_keys`` and get one entry per key.

* INVALID_REQUEST for an unknown key type, an empty transactional id, key_type 2
  before v6, or a share key that is not ``group:topicId:partition`` (the topic id
  in Kafka's base64 form).
* COORDINATOR_NOT_AVAILABLE while no live node can coordinate the key.
"""

from __future__ import annotations

import base64
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api

GROUP, TRANSACTION, SHARE = 0, 1, 2


def valid_share_key(key: str) -> bool:
    """Return whether ``key`` is a share coordinator key, ``group:topicId:partition``
    (Kafka's ``SharePartitionKey.validate``; the topic id as Kafka prints it)."""
    parts = key.rsplit(":", 2)
    if len(parts) != 3 or not parts[0]:
        return False
    _group, topic_id, partition = parts
    try:
        raw = base64.urlsafe_b64decode(topic_id + "==")
    except ValueError:
        return False
    return len(topic_id) == 22 and len(raw) == 16 and partition.isdigit()


def _coordinator(ctx: RequestContext, key: str, key_type: int) -> dict[str, Any]:
    code, message = ErrorCode.NONE, None
    if key_type not in (GROUP, TRANSACTION, SHARE):
        code, message = ErrorCode.INVALID_REQUEST, f"Unknown coordinator type {key_type}"
    elif key_type == TRANSACTION and not key:
        code, message = ErrorCode.INVALID_REQUEST, "Transactional id can't be empty"
    elif key_type == SHARE and (ctx.version < 6 or not valid_share_key(key)):
        code, message = ErrorCode.INVALID_REQUEST, ""
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
