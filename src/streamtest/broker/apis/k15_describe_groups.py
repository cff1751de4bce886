"""DescribeGroups (key 15), versions 0-6, for classic groups.

State, protocol and members of each group; member metadata and assignments are
filled in only when the group is Stable (as Kafka's ``GroupMetadata.summary``).

* A group that does not exist is reported as Dead with no error, or from v6
  (KIP-1043) with GROUP_ID_NOT_FOUND. A KIP-848 consumer group is described by
  ConsumerGroupDescribe instead; here it gets the same not-found answer.
* v3+: ``authorized_operations`` when asked (every group operation: no ACLs).
* v4+: ``group_instance_id`` of static members.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..groups.classic import DEAD, ClassicGroup
from ..groups.requests import AUTH_OPS_UNSET, GROUP_AUTH_OPS
from ..services.coordinators import group_error


def _not_found(ctx: RequestContext, group_id: str, message: str) -> dict[str, Any]:
    v6 = ctx.version >= 6
    return {
        "error_code": ErrorCode.GROUP_ID_NOT_FOUND if v6 else ErrorCode.NONE,
        "error_message": message if v6 else None,
        "group_id": group_id,
        "group_state": DEAD,
        "protocol_type": "",
        "protocol_data": "",
        "members": [],
    }


@api(15, "DescribeGroups", 0, 6)
def handle_describe_groups(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe each requested classic group."""
    ops = (
        GROUP_AUTH_OPS
        if getattr(request, "include_authorized_operations", False)
        else (AUTH_OPS_UNSET)
    )
    out = []
    for group_id in request.groups:
        group = ctx.cluster.groups.group(group_id)
        not_here = group_error(ctx, group_id)
        if not_here:
            entry = _not_found(ctx, group_id, "This is not the correct coordinator.")
            entry["error_code"], entry["error_message"] = not_here, None
        elif group is None or group.state == DEAD:
            entry = _not_found(ctx, group_id, f"Group {group_id} not found.")
        elif not isinstance(group, ClassicGroup):
            entry = _not_found(ctx, group_id, f"Group {group_id} is not a classic group.")
        else:
            entry = group.describe()
        entry["authorized_operations"] = ops
        out.append(entry)
    return {"throttle_time": 0, "groups": out}
