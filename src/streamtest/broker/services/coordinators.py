"""Which node coordinates a group or a transactional id, for the APIs that need it.

A group's coordinator is the leader of its ``__consumer_offsets`` partition, and a
transactional id's the leader of its ``__transaction_state`` partition
(``Cluster.coordinator_for``). A request that reaches another node gets
NOT_COORDINATOR, and COORDINATOR_NOT_AVAILABLE while the partition has no leader,
so clients look the coordinator up again, as they do with Kafka after a
coordinator moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...protocol.errors import ErrorCode

if TYPE_CHECKING:
    from ..dispatch import RequestContext

GROUP, TRANSACTION = 0, 1


def group_error(ctx: RequestContext, group_id: str | None) -> ErrorCode:
    """Return NONE if this node coordinates ``group_id`` (or the id is empty, which
    the API itself refuses), else NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE."""
    if not group_id:
        return ErrorCode.NONE
    return ctx.cluster.is_coordinator(ctx.node.node_id, GROUP, group_id)


def transaction_error(ctx: RequestContext, transactional_id: str | None) -> ErrorCode:
    """Return NONE if this node coordinates ``transactional_id`` (or it is empty),
    else NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE."""
    if not transactional_id:
        return ErrorCode.NONE
    return ctx.cluster.is_coordinator(ctx.node.node_id, TRANSACTION, transactional_id)


def coordinated_here(ctx: RequestContext, key_type: int, key: str) -> bool:
    """Return whether this node coordinates ``key`` (ListGroups, ListTransactions
    list only what the node they ask coordinates)."""
    return ctx.cluster.is_coordinator(ctx.node.node_id, key_type, key) == ErrorCode.NONE
