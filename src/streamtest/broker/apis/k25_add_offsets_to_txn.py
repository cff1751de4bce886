"""AddOffsetsToTxn (key 25), versions 0-4.

Adds a consumer group to the producer's transaction, so that the TxnOffsetCommit
that follows (sent to the group coordinator) is part of it (KIP-98). Errors:
INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v2,
KIP-588), INVALID_GROUP_ID for an empty group id.
Left out: authorization.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.coordinators import transaction_error


@api(25, "AddOffsetsToTxn", 0, 4)
def handle_add_offsets_to_txn(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Add ``request.group_id`` to the transaction."""
    not_here = transaction_error(ctx, request.transactional_id)
    if not_here:
        return {"throttle_time": 0, "error_code": not_here}
    error = ctx.cluster.transactions.add_offsets(
        request.transactional_id, request.producer_id, request.producer_epoch, request.group_id
    )
    if error == ErrorCode.PRODUCER_FENCED and ctx.version < 2:
        error = ErrorCode.INVALID_PRODUCER_EPOCH
    return {"throttle_time": 0, "error_code": error}
