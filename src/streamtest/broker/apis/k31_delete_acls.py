"""DeleteAcls (key 31), versions 1-3 (KIP-140), as Kafka answers it with no
authorizer configured: SECURITY_DISABLED for each filter, "No Authorizer is
configured." (streamtest allows every request; it has no ACLs to delete).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(31, "DeleteAcls", 1, 3)
def handle_delete_acls(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Refuse each filter's deletion: no authorizer is configured."""
    return {
        "throttle_time": 0,
        "filter_results": [
            {
                "error_code": ErrorCode.SECURITY_DISABLED,
                "error_message": "No Authorizer is configured.",
                "matching_acls": [],
            }
            for _ in request.filters
        ],
    }
