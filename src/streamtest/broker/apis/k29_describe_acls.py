"""DescribeAcls (key 29), versions 1-3 (KIP-140), as Kafka answers it with no
authorizer configured: SECURITY_DISABLED, "No Authorizer is configured on the
broker". streamtest has no authorizer (every request is allowed), so there are no
ACLs to describe; a client learns that from the error, as it would from Kafka.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(29, "DescribeAcls", 1, 3)
def handle_describe_acls(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Answer that no authorizer is configured."""
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.SECURITY_DISABLED,
        "error_message": "No Authorizer is configured on the broker",
        "resources": [],
    }
