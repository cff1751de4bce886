"""InitProducerId (key 22), versions 0-5, for idempotent and transactional producers.

* Without a ``transactional_id`` (an idempotent producer) the answer is always a
  fresh producer id at epoch 0, as Kafka's coordinator "blindly accepts" it; a
  producer recovering with KIP-360 (v3+, passing its old id and epoch) gets a new
  id too.
* With one, the transaction coordinator (``txn.coordinator``) bumps the epoch,
  fencing older instances of the same ``transactional.id`` and aborting their open
  transaction (KIP-98), recognises a retried bump (KIP-360), and rotates to a new
  producer id when the epoch is exhausted. PRODUCER_FENCED is sent as
  INVALID_PRODUCER_EPOCH before v4 (KIP-588).
* INVALID_REQUEST when only one of ``producer_id`` / ``producer_epoch`` is set, or
  the transactional id is empty; INVALID_TRANSACTION_TIMEOUT when the timeout is
  not positive or exceeds ``transaction_max_timeout_ms``.
Left out: v6 (KIP-939 two-phase commit).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api


@api(22, "InitProducerId", 0, 5)
def handle_init_producer_id(ctx: RequestContext, request: Any) -> Any:
    """Allocate a producer id (and epoch) for an idempotent or transactional producer."""
    pid = getattr(request, "producer_id", -1)
    epoch = getattr(request, "producer_epoch", -1)
    if (pid == -1) != (epoch == -1):
        return {"throttle_time": 0, "error_code": ErrorCode.INVALID_REQUEST,
                "producer_id": -1, "producer_epoch": -1}
    if request.transactional_id is not None:
        return ctx.broker.transactions.init_producer_id(ctx, request)
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "producer_id": ctx.broker.producers.allocate_producer_id(),
        "producer_epoch": 0,
    }
