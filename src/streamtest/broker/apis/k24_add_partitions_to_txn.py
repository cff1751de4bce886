"""AddPartitionsToTxn (key 24), versions 0-5.

* v0-v3 (clients): one transaction; the producer adds partitions before it first
  produces to them (KIP-98). Errors apply per partition: UNKNOWN_TOPIC_OR_PARTITION
  for a missing partition (the others get OPERATION_NOT_ATTEMPTED),
  INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v2,
  KIP-588), CONCURRENT_TRANSACTIONS.
* v4-v5 (KIP-890 part 1): the batched form brokers use, several transactions per
  request, with ``verify_only`` to ask whether partitions are already in a
  transaction without adding them. Served here too, for tools and tests.
Left out: authorization (every principal may use every transactional id).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.coordinators import transaction_error


def _results_by_topic(errors: dict[tuple[str, int], ErrorCode]) -> list[dict[str, Any]]:
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for (topic, partition), code in errors.items():
        by_topic.setdefault(topic, []).append(
            {"partition_index": partition, "partition_error_code": code}
        )
    return [{"name": name, "results_by_partition": parts} for name, parts in by_topic.items()]


def _add(
    ctx: RequestContext,
    transactional_id: str,
    producer_id: int,
    producer_epoch: int,
    topics: Any,
    verify_only: bool,
) -> dict[tuple[str, int], ErrorCode]:
    partitions = [(t.name, int(p)) for t in topics for p in t.partitions]
    not_here = transaction_error(ctx, transactional_id)
    if not_here:
        return dict.fromkeys(partitions, not_here)
    errors = ctx.cluster.transactions.add_partitions(
        transactional_id, producer_id, producer_epoch, partitions, verify_only=verify_only
    )
    if ctx.version < 2:
        errors = {
            tp: ErrorCode.INVALID_PRODUCER_EPOCH if code == ErrorCode.PRODUCER_FENCED else code
            for tp, code in errors.items()
        }
    return errors


@api(24, "AddPartitionsToTxn", 0, 5)
def handle_add_partitions_to_txn(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Add partitions to one transaction (v0-v3) or several (v4+)."""
    if ctx.version <= 3:
        errors = _add(
            ctx,
            request.v3_and_below_transactional_id,
            request.v3_and_below_producer_id,
            request.v3_and_below_producer_epoch,
            request.v3_and_below_topics,
            verify_only=False,
        )
        return {"throttle_time": 0, "results_by_topic_v3_and_below": _results_by_topic(errors)}
    results = []
    for txn in request.transactions:
        errors = _add(
            ctx,
            txn.transactional_id,
            txn.producer_id,
            txn.producer_epoch,
            txn.topics,
            verify_only=txn.verify_only,
        )
        results.append(
            {"transactional_id": txn.transactional_id, "topic_results": _results_by_topic(errors)}
        )
    return {"throttle_time": 0, "error_code": ErrorCode.NONE, "results_by_transaction": results}
