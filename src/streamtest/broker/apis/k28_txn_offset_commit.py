"""TxnOffsetCommit (key 28), versions 0-4.

Stages consumer offsets in the producer's transaction. They become the group's
committed offsets only when the transaction commits (and are dropped if it
aborts), through ``broker.groups.commit_offsets_from_txn`` (KIP-98).

* The group must have been added with AddOffsetsToTxn, else INVALID_TXN_STATE (the
  check Kafka gained with KIP-890 part 1).
* INVALID_PRODUCER_ID_MAPPING for an unknown producer; a stale epoch is
  PRODUCER_FENCED from v3 on and INVALID_PRODUCER_EPOCH before.
* v3+ (KIP-447) carries the consumer's generation and member id, checked by the
  group coordinator (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID), so
  a zombie that lost its partitions in a rebalance cannot commit offsets.
Left out: v5 (KIP-890 part 2, which implies AddOffsetsToTxn).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.coordinators import group_error


def _group_error(ctx: RequestContext, request: Any) -> int:
    """Check the consumer's membership (v3+, KIP-447) with the group coordinator.

    Only a request that names a member or a generation is checked: a standalone
    transactional commit (generation -1, no member) is allowed whatever the group's
    state, and a rebalance in progress does not refuse it (Kafka's
    ``validateOffsetCommit`` with ``isTransactional``).
    """
    not_here = group_error(ctx, request.group_id)
    if not_here:
        return not_here
    if ctx.version < 3:
        return ErrorCode.NONE
    if request.generation_id < 0 and not request.member_id and request.group_instance_id is None:
        return ErrorCode.NONE
    # Transactional commits follow their own membership rules in Kafka, for classic
    # and KIP-848 groups alike (a consumer group's member epoch is checked, not the
    # OffsetCommit version rules): GroupCoordinator.validate_txn_offset_commit.
    return ctx.cluster.groups.validate_txn_offset_commit(
        request.group_id, request.generation_id, request.member_id, request.group_instance_id
    )


@api(28, "TxnOffsetCommit", 0, 4)
def handle_txn_offset_commit(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Stage the request's offsets in the transaction; answer per partition."""
    rows = [
        (
            t.name,
            p.partition_index,
            p.committed_offset,
            getattr(p, "committed_leader_epoch", -1),
            p.committed_metadata,
        )
        for t in request.topics
        for p in t.partitions
    ]
    injected = {(t, p): ctx.fault(t, p) for t, p, *_ in rows}
    rows = [r for r in rows if not injected[(r[0], r[1])]]
    group_error = _group_error(ctx, request)
    if group_error:
        errors = {(t, p): ErrorCode(group_error) for t, p, *_ in rows}
    elif not rows:
        errors = {}
    else:
        errors = ctx.cluster.transactions.txn_offset_commit(
            request.transactional_id,
            request.group_id,
            request.producer_id,
            request.producer_epoch,
            rows,
        )
    errors.update({tp: ErrorCode(code) for tp, code in injected.items() if code})
    if ctx.version < 3:
        errors = {
            tp: ErrorCode.INVALID_PRODUCER_EPOCH if code == ErrorCode.PRODUCER_FENCED else code
            for tp, code in errors.items()
        }
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for (topic, partition), code in errors.items():
        by_topic.setdefault(topic, []).append({"partition_index": partition, "error_code": code})
    return {
        "throttle_time": 0,
        "topics": [{"name": name, "partitions": parts} for name, parts in by_topic.items()],
    }
