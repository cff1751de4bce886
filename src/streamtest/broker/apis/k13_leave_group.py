"""LeaveGroup (key 13), versions 0-5, for classic group members.

v0-2 name one member; v3+ (KIP-345) a batch of members, by member id or
``group_instance_id``, each with its own error (UNKNOWN_MEMBER_ID,
FENCED_INSTANCE_ID). A leave triggers a rebalance of the remaining members.
v5 adds a ``reason`` per member (logged by Kafka; ignored here).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.coordinators import group_error


@api(13, "LeaveGroup", 0, 5)
def handle_leave_group(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Remove the named members from the group."""
    if ctx.version >= 3:
        members = [(m.member_id, m.group_instance_id) for m in request.members]
    else:
        members = [(request.member_id, None)]
    not_here = group_error(ctx, request.group_id)
    if not_here:
        top, errors = not_here, []
    else:
        top, errors = ctx.cluster.groups.leave_group(request.group_id, members)
    if ctx.version < 3:
        code = top or (errors[0] if errors else ErrorCode.NONE)
        return {"throttle_time": 0, "error_code": code, "members": []}
    return {
        "throttle_time": 0,
        "error_code": top,
        "members": [
            {"member_id": m, "group_instance_id": i, "error_code": e}
            for (m, i), e in zip(members, errors, strict=False)
        ],
    }
