"""DescribeClientQuotas (key 48), versions 0-1 (KIP-546; v1 is flexible).

Returns the quota configs of the entities that match a filter, as Kafka's
``ClientQuotasImage.describe``: each component names an entity type (``user``,
``client-id``, ``ip``) and matches an exact name (0), the default (1) or any
name (2); without components every entity matches unless ``strict``, and
``strict`` leaves out entities with types the filter does not name.

* An invalid filter fails the whole request: INVALID_REQUEST ("Entity type user
  cannot appear more than once in the filter.", "Request specified
  MATCH_TYPE_EXACT, but set match string to null.", ...), UNSUPPORTED_VERSION for
  an unknown entity type ("Unsupported entity type foo"); ``entries`` is null.
* Each entity's components come in the order of Kafka's hash map of them
  (``client-id`` before ``user``); the entries themselves come sorted by entity
  (Kafka's order is that of its metadata image's maps).
Left out: authorization (DESCRIBE_CONFIGS on the cluster); there is none yet.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..quotas import QuotaRequestError, java_map


@api(48, "DescribeClientQuotas", 0, 1)
def handle_describe_client_quotas(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe the quota configs of the entities matching the request's filter."""
    components = [(c.entity_type, int(c.match_type), c.match) for c in request.components]
    try:
        found = ctx.cluster.quotas.describe(components, bool(request.strict))
    except QuotaRequestError as exc:
        return {
            "throttle_time": 0,
            "error_code": exc.error_code,
            "error_message": exc.message,
            "entries": None,
        }
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "entries": [
            {
                "entity": [{"entity_type": t, "entity_name": n} for t, n in java_map(entity)],
                "values": [{"key": k, "value": v} for k, v in sorted(values.items())],
            }
            for entity, values in found
        ],
    }
