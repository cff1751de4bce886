"""Heartbeat (key 12), versions 0-4, for classic group members.

Keeps the member's session alive. REBALANCE_IN_PROGRESS tells it to rejoin;
ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID and (v3+, KIP-345) FENCED_INSTANCE_ID
fence it.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..services.coordinators import group_error


@api(12, "Heartbeat", 0, 4)
def handle_heartbeat(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Refresh the member's session and report the group's state as an error code."""
    not_here = group_error(ctx, request.group_id)
    if not_here:
        return {"throttle_time": 0, "error_code": not_here}
    code = ctx.cluster.groups.heartbeat(
        request.group_id,
        request.member_id,
        getattr(request, "group_instance_id", None),
        request.generation_id,
    )
    return {"throttle_time": 0, "error_code": code}
