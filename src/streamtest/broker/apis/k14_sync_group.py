"""SyncGroup (key 14), versions 0-5: the second phase of a classic group rebalance.

The leader sends every member's assignment; each member's request is parked
until the leader's arrives, then answered with its own assignment.

* ILLEGAL_GENERATION for another generation, REBALANCE_IN_PROGRESS while
  members are (re)joining, UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID for strangers.
* v5+: ``protocol_type`` / ``protocol_name`` are checked
  (INCONSISTENT_GROUP_PROTOCOL) and echoed.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..groups.classic import sync_error
from ..groups.requests import respond_later
from ..services.coordinators import group_error


def _shape(response: dict[str, Any]) -> dict[str, Any]:
    return dict(response, throttle_time=0)


@api(14, "SyncGroup", 0, 5)
def handle_sync_group(ctx: RequestContext, request: Any) -> Any:
    """Deliver the leader's assignments; answer each member with its own."""
    not_here = group_error(ctx, request.group_id)
    if not_here:
        return _shape(sync_error(not_here))
    outcome = ctx.cluster.groups.sync_group(
        request.group_id,
        request.member_id,
        getattr(request, "group_instance_id", None),
        request.generation_id,
        getattr(request, "protocol_type", None),
        getattr(request, "protocol_name", None),
        {a.member_id: bytes(a.assignment) for a in request.assignments},
    )
    if isinstance(outcome, dict):
        return _shape(outcome)
    return respond_later(outcome, _shape)
