"""CreateAcls (key 30), versions 1-3 (KIP-140), as Kafka answers it with no
authorizer configured: SECURITY_DISABLED for each creation, "No Authorizer is
configured." (streamtest allows every request; it has no ACLs to keep).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(30, "CreateAcls", 1, 3)
def handle_create_acls(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Refuse each ACL creation: no authorizer is configured."""
    return {
        "throttle_time": 0,
        "results": [
            {
                "error_code": ErrorCode.SECURITY_DISABLED,
                "error_message": "No Authorizer is configured.",
            }
            for _ in request.creations
        ],
    }
