"""EndTxn (key 26), versions 0-4.

Commits or aborts the producer's transaction: the coordinator writes a COMMIT or
ABORT marker into every partition of the transaction and, on commit, makes the
offsets staged by TxnOffsetCommit visible in their groups (KIP-98). The answer
comes after the markers are written (Kafka answers once PrepareCommit is logged and
writes markers afterwards; here nothing is visible in between).

Errors: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before
v2, KIP-588), INVALID_TXN_STATE (no open transaction, or a retry that asks for
the opposite outcome).
Left out: v5 (KIP-890 part 2, an epoch bump per transaction), which clients use
only together with Produce v12.
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.coordinators import transaction_error


@api(26, "EndTxn", 0, 4)
def handle_end_txn(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Commit (``committed``) or abort the transaction."""
    not_here = transaction_error(ctx, request.transactional_id)
    if not_here:
        return {"throttle_time": 0, "error_code": not_here, "producer_id": -1,
                "producer_epoch": -1}
    error = ctx.cluster.transactions.end_txn(
        request.transactional_id, request.producer_id, request.producer_epoch, request.committed
    )
    if error == ErrorCode.PRODUCER_FENCED and ctx.version < 2:
        error = ErrorCode.INVALID_PRODUCER_EPOCH
    return {"throttle_time": 0, "error_code": error, "producer_id": -1, "producer_epoch": -1}
