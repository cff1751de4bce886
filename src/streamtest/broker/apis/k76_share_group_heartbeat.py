"""ShareGroupHeartbeat (key 76), version 1: the KIP-932 share group protocol.

One request keeps a share consumer in its group and carries its subscription;
the response carries its member epoch and, when it changed, its assignment by
topic id (``groups/share.py``). Served by the group's coordinator (the leader of
its ``__consumer_offsets`` partition): NOT_COORDINATOR elsewhere.

* Member epoch 0 joins (the client brings its own member id), -1 leaves.
* INVALID_REQUEST for an empty group or member id, a first heartbeat without
  subscribed topics, or an epoch below -1; UNKNOWN_MEMBER_ID,
  FENCED_MEMBER_EPOCH, GROUP_MAX_SIZE_REACHED; GROUP_ID_NOT_FOUND when the id
  belongs to a classic or consumer group.
* v0 (Kafka 4.0's early access) was removed in Kafka 4.1, as here.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..groups.requests import client_host, client_id
from ..groups.share import ShareHeartbeat, heartbeat_error
from ..services.coordinators import group_error


@api(76, "ShareGroupHeartbeat", 1, 1)
def handle_share_group_heartbeat(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Run one heartbeat of a share group member."""
    not_here = group_error(ctx, request.group_id)
    if not_here:
        response = heartbeat_error(not_here)
    else:
        names = request.subscribed_topic_names
        response = ctx.cluster.groups.share_group_heartbeat(
            ShareHeartbeat(
                group_id=request.group_id,
                member_id=request.member_id,
                member_epoch=request.member_epoch,
                rack_id=request.rack_id,
                subscribed_topic_names=list(names) if names is not None else None,
                client_id=client_id(ctx),
                client_host=client_host(ctx),
            )
        )
    response["throttle_time"] = 0
    return response
