"""ShareAcknowledge (key 79), versions 1-2: acknowledge records of a share session.

Each partition's acknowledgement batches are applied all or nothing by the
partition's leader (``share/partition.py``): ACCEPT, RELEASE, REJECT, GAP and,
from v2, RENEW (KIP-1222, unless the group sets
``share.renew.acknowledge.enable=false``). Per-partition errors:
INVALID_RECORD_STATE (records the member does not hold), INVALID_REQUEST
(malformed batches), NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_ID,
UNKNOWN_TOPIC_OR_PARTITION (no share partition loaded on this leader).
Session errors: epoch 0 is INVALID_SHARE_SESSION_EPOCH; -1 closes the session
after the acknowledgements and releases what the member still holds. v2 adds
``acquisition_lock_timeout``.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..share.requests import Serving, ShareAckArgs, partition_args, share_acknowledge


@api(79, "ShareAcknowledge", 1, 2)
def handle_share_acknowledge(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Apply the acknowledgements of a share session."""
    args = ShareAckArgs(
        version=ctx.version,
        group_id=request.group_id or "",
        member_id=request.member_id or "",
        epoch=request.share_session_epoch,
        is_renew_ack=getattr(request, "is_renew_ack", False),
        partitions=partition_args(request.topics),
    )
    cluster = ctx.cluster
    here = Serving(ctx.node.node_id, ctx.connection_id, cluster.topics, cluster.clock)
    return share_acknowledge(cluster.shares, here, cluster.nodes.get, args)
