"""ConsumerGroupDescribe (key 69), versions 0-1: describe KIP-848 consumer groups.

Group and assignment epochs, the assignor, and per member its epoch,
subscription, current assignment and target assignment. GROUP_ID_NOT_FOUND for
an unknown group and for a classic group (clients then fall back to
DescribeGroups). v1 adds ``member_type`` (always 1, consumer protocol).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..groups.consumer import DEAD, ConsumerGroup
from ..groups.requests import AUTH_OPS_UNSET, GROUP_AUTH_OPS
from ..services.coordinators import group_error


def _not_found(group_id: str, message: str) -> dict[str, Any]:
    return {
        "error_code": ErrorCode.GROUP_ID_NOT_FOUND,
        "error_message": message,
        "group_id": group_id,
        # As Kafka's coordinator: no state and zero epochs for a group it lacks.
        "group_state": "",
        "group_epoch": 0,
        "assignment_epoch": 0,
        "assignor_name": "",
        "members": [],
    }


@api(69, "ConsumerGroupDescribe", 0, 1)
def handle_consumer_group_describe(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe each requested consumer group."""
    ops = GROUP_AUTH_OPS if request.include_authorized_operations else AUTH_OPS_UNSET
    out = []
    for group_id in request.group_ids:
        group = ctx.cluster.groups.group(group_id)
        not_here = group_error(ctx, group_id)
        if not_here:
            entry = _not_found(group_id, "")
            entry["error_code"], entry["error_message"] = not_here, None
        elif group is None or group.state == DEAD:
            entry = _not_found(group_id, f"Group {group_id} not found.")
        elif not isinstance(group, ConsumerGroup):
            entry = _not_found(group_id, f"Group {group_id} is not a consumer group.")
        else:
            entry = group.describe()
        entry["authorized_operations"] = ops
        out.append(entry)
    return {"throttle_time": 0, "groups": out}
