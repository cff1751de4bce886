"""DeleteGroups (key 42), versions 0-2.

Deletes empty groups and their committed offsets. GROUP_ID_NOT_FOUND for an
unknown group, NON_EMPTY_GROUP for one that still has members,
INVALID_GROUP_ID for an empty id.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..services.coordinators import group_error


@api(42, "DeleteGroups", 0, 2)
def handle_delete_groups(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Delete each named group; answer per group."""
    groups = ctx.cluster.groups
    return {
        "throttle_time": 0,
        "results": [
            {"group_id": g, "error_code": group_error(ctx, g) or groups.delete_group(g)}
            for g in request.groups_names
        ],
    }
