"""InitProducerId (key 22), versions 0-5, for idempotent producers.

A producer without a ``transactional.id`` gets a fresh producer id at epoch 0.
Transactional producers are handled by the transaction coordinator when present.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(22, "InitProducerId", 0, 5)
def handle_init_producer_id(ctx: RequestContext, request: Any) -> Any:
    """Allocate a producer id (and epoch) for an idempotent or transactional producer."""
    txns = getattr(ctx.broker, "transactions", None)
    if request.transactional_id is not None and txns is not None:
        return txns.init_producer_id(ctx, request)
    if request.transactional_id is not None:
        return {"throttle_time": 0, "error_code": ErrorCode.COORDINATOR_NOT_AVAILABLE,
                "producer_id": -1, "producer_epoch": -1}
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "producer_id": ctx.broker.producers.allocate_producer_id(),
        "producer_epoch": 0,
    }
