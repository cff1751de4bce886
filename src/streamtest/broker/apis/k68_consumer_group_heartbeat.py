"""ConsumerGroupHeartbeat (key 68), versions 0-1: the KIP-848 consumer group protocol.

One request both keeps the member alive and carries its subscription and owned
partitions; the response carries its epoch and, when it changed (or on a full
request), its assignment by topic id. See ``groups/consumer.py``.

* Member epoch 0 joins, -1 leaves, -2 is a static member's temporary leave.
* v0: the coordinator makes up the member id of a joining member; v1 (KIP-1082)
  clients bring their own (we accept either). v1 adds ``subscribed_topic_regex``.
* INVALID_REQUEST for a malformed first heartbeat, UNSUPPORTED_ASSIGNOR,
  UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, UNRELEASED_INSTANCE_ID,
  INVALID_REGULAR_EXPRESSION (patterns use Python's ``re``, close to RE2/J).
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..groups.consumer import HeartbeatRequest, error_response
from ..groups.requests import client_host, client_id, millis
from ..services.coordinators import group_error


@api(68, "ConsumerGroupHeartbeat", 0, 1)
def handle_consumer_group_heartbeat(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Run one heartbeat of a KIP-848 member."""
    not_here = group_error(ctx, request.group_id)
    if not_here:
        response = error_response(not_here, None)
        response["throttle_time"] = 0
        return response
    owned = None
    if request.topic_partitions is not None:
        owned = {tp.topic_id: set(tp.partitions) for tp in request.topic_partitions}
    names = request.subscribed_topic_names
    req = HeartbeatRequest(
        group_id=request.group_id,
        member_id=request.member_id,
        member_epoch=request.member_epoch,
        instance_id=request.instance_id,
        rack_id=request.rack_id,
        rebalance_timeout_ms=millis(request.rebalance_timeout),
        subscribed_topic_names=list(names) if names is not None else None,
        subscribed_topic_regex=getattr(request, "subscribed_topic_regex", None),
        server_assignor=request.server_assignor,
        owned=owned,
        client_id=client_id(ctx),
        client_host=client_host(ctx),
    )
    response = ctx.cluster.groups.consumer_group_heartbeat(req)
    response["throttle_time"] = 0
    return response
