"""ShareGroupDescribe (key 77), version 1: describe KIP-932 share groups.

Group and assignment epochs, the assignor (``simple``) and per member its epoch,
client, subscription and assignment. GROUP_ID_NOT_FOUND for an unknown group
("Group G not found.") and for a classic or consumer group ("Group G is not a
share group."); INVALID_GROUP_ID for an empty id. ``authorized_operations``, when
asked, is every share-group operation (no ACLs): READ, DELETE, DESCRIBE,
DESCRIBE_CONFIGS and ALTER_CONFIGS, as Kafka reports without an authorizer.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..groups.requests import AUTH_OPS_UNSET
from ..groups.share import DEAD, ShareGroup
from ..services.coordinators import group_error

#: READ (3), DELETE (6), DESCRIBE (8), DESCRIBE_CONFIGS (10), ALTER_CONFIGS (11).
SHARE_GROUP_AUTH_OPS = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11)


def _not_found(group_id: str, code: int, message: str | None) -> dict[str, Any]:
    return {
        "error_code": code,
        "error_message": message,
        "group_id": group_id,
        "group_state": "",
        "group_epoch": 0,
        "assignment_epoch": 0,
        "assignor_name": "",
        "members": [],
        "authorized_operations": AUTH_OPS_UNSET,
    }


@api(77, "ShareGroupDescribe", 1, 1)
def handle_share_group_describe(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe each requested share group."""
    ops = SHARE_GROUP_AUTH_OPS if request.include_authorized_operations else AUTH_OPS_UNSET
    out = []
    for group_id in request.group_ids:
        group = ctx.cluster.groups.group(group_id)
        not_here = group_error(ctx, group_id)
        if not group_id:
            entry = _not_found(group_id, ErrorCode.INVALID_GROUP_ID, None)
        elif not_here:
            entry = _not_found(group_id, not_here, None)
        elif group is None or group.state == DEAD:
            entry = _not_found(
                group_id, ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} not found."
            )
        elif not isinstance(group, ShareGroup):
            entry = _not_found(
                group_id, ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a share group."
            )
        else:
            entry = group.describe()
            entry["authorized_operations"] = ops
        out.append(entry)
    return {"throttle_time": 0, "groups": out}
