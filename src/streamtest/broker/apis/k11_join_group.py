"""JoinGroup (key 11), versions 0-9: the first phase of a classic group rebalance.

The request is parked until the join phase completes (every member rejoined, or
the rebalance timeout passed); the leader's response carries every member's
metadata for the chosen protocol. See ``groups/classic.py`` for the state machine.

* v1+ has a rebalance timeout (v0: the session timeout is used).
* v4+ (KIP-394): a member without an id first gets MEMBER_ID_REQUIRED and its id.
* v5+ (KIP-345): ``group_instance_id`` for static members; FENCED_INSTANCE_ID.
* v7+: ``protocol_type`` in the response; v8+: ``reason``; v9: ``skip_assignment``
  (always false: no server-side assignment for classic groups).
* INVALID_SESSION_TIMEOUT outside ``group.min/max.session.timeout.ms``;
  INCONSISTENT_GROUP_PROTOCOL when no protocol is common to all members.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..groups.classic import JoinRequest, join_error
from ..groups.requests import client_host, client_id, millis, respond_later
from ..services.coordinators import group_error


def _shape(ctx: RequestContext, response: dict[str, Any]) -> dict[str, Any]:
    response = dict(response, throttle_time=0)
    if ctx.version < 7 and response["protocol_name"] is None:
        response["protocol_name"] = ""  # nullable only from v7
    return response


@api(11, "JoinGroup", 0, 9)
def handle_join_group(ctx: RequestContext, request: Any) -> Any:
    """Join (or rejoin) a classic group; answer now or when the join phase completes."""
    not_here = group_error(ctx, request.group_id)
    if not_here:
        return _shape(ctx, join_error(request.member_id, not_here))
    session_ms = millis(request.session_timeout)
    req = JoinRequest(
        member_id=request.member_id,
        group_instance_id=getattr(request, "group_instance_id", None),
        client_id=client_id(ctx),
        client_host=client_host(ctx),
        session_timeout_ms=session_ms,
        rebalance_timeout_ms=millis(getattr(request, "rebalance_timeout", session_ms)),
        protocol_type=request.protocol_type,
        protocols=[(p.name, bytes(p.metadata)) for p in request.protocols],
        require_known_member_id=ctx.version >= 4,
        reason=getattr(request, "reason", None),
    )
    outcome = ctx.cluster.groups.join_group(request.group_id, req)
    if isinstance(outcome, dict):
        return _shape(ctx, outcome)
    return respond_later(outcome, lambda r: _shape(ctx, r))
