"""ListTransactions (key 66), versions 0-2 (KIP-664).

Lists transactional ids, filtered by state names (unknown ones are echoed in
``unknown_state_filters``), producer ids, v1's minimum running time (KIP-994)
and v2's transactional-id regular expression (KIP-1152; Python ``re`` syntax,
matched against the whole id; INVALID_REGULAR_EXPRESSION if it does not compile).
Left out: authorization.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..services.coordinators import TRANSACTION, coordinated_here
from ..txn.admin import list_transactions


@api(66, "ListTransactions", 0, 2)
def handle_list_transactions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """List the transactional ids that match the request's filters."""
    result = list_transactions(
        ctx.cluster.transactions,
        list(request.state_filters),
        [int(p) for p in request.producer_id_filters],
        int(getattr(request, "duration_filter", -1)),
        getattr(request, "transactional_id_pattern", None),
    )
    # Each node lists the transactional ids it coordinates (tools ask every node).
    result["transaction_states"] = [
        t
        for t in result["transaction_states"]
        if coordinated_here(ctx, TRANSACTION, t["transactional_id"])
    ]
    return result
