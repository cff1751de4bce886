"""ListGroups (key 16), versions 0-5.

Lists every group that is not Dead, with its protocol type and state.

* v4+ (KIP-518): ``states_filter``, matched case-insensitively.
* v5+ (KIP-848): ``types_filter`` ("classic", "consumer") and ``group_type``.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.coordinators import GROUP, coordinated_here


@api(16, "ListGroups", 0, 5)
def handle_list_groups(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """List the broker's groups, filtered by state and type."""
    states = {s.lower() for s in getattr(request, "states_filter", ()) or ()}
    types = {t.lower() for t in getattr(request, "types_filter", ()) or ()}
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        # Each node lists the groups it coordinates (admin clients ask every node).
        "groups": [
            g
            for g in ctx.cluster.groups.list_groups(states, types)
            if coordinated_here(ctx, GROUP, g["group_id"])
        ],
    }
