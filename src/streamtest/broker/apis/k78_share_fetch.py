"""ShareFetch (key 78), versions 1-2: acquire records for a share group member.

Served by partition leaders (NOT_LEADER_OR_FOLLOWER with the current leader and
its endpoint otherwise, KIP-951); see ``share/requests.py`` for the flow and
``share/partition.py`` for acquisition.

* Share sessions: epoch 0 opens one (no acknowledgements allowed: INVALID_REQUEST),
  later epochs continue it (INVALID_SHARE_SESSION_EPOCH, SHARE_SESSION_NOT_FOUND),
  -1 closes it after its acknowledgements and releases the member's records;
  SHARE_SESSION_LIMIT_REACHED past ``group.share.max.share.sessions``.
* Piggybacked acknowledgements answer in ``acknowledge_error_code``
  (INVALID_RECORD_STATE for records the member does not hold).
* Long poll: waits up to ``max_wait_ms`` for ``min_bytes`` of acquirable
  records, on the cluster's clock; new records, releases and expired locks wake it.
* ``max_records`` is exceeded only to finish a record batch; v2 adds
  ``share_acquire_mode`` 1 (record_limit, KIP-1206) and RENEW acknowledgements
  with ``is_renew_ack`` (KIP-1222: then no records are fetched).
* A full (epoch 0) response lists every partition; later responses list the
  partitions with records, errors or acknowledgement results.
* ``consumer_byte_rate`` quotas, as Kafka's KafkaApis applies them to ShareFetch:
  ``max_bytes`` is capped at what the client's quota allows in one window, and the
  response's record bytes are recorded for the client on this node. Over the
  quota the response carries ``throttle_time_ms`` and the connection is muted for
  it (KIP-219). Unlike a Fetch, the records are still returned: they are already
  acquired for the member, so dropping them would only hold their locks.
v0 (Kafka 4.0's early access) was removed in Kafka 4.1, as here.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any

from ..dispatch import RequestContext, api
from ..groups.requests import millis
from ..share.requests import Serving, ShareFetchArgs, partition_args, share_fetch


@api(78, "ShareFetch", 1, 2)
def handle_share_fetch(ctx: RequestContext, request: Any) -> Any:
    """Acknowledge, then acquire records for the member (or wait for some)."""
    quota = ctx.node.quotas.fetch
    is_renew_ack = getattr(request, "is_renew_ack", False)
    max_bytes = request.max_bytes
    if quota.enabled and not is_renew_ack:
        # A renewal must carry max_bytes 0 (KIP-1222), and fetches nothing to cap.
        budget = max_bytes if max_bytes > 0 else 2**31 - 1
        max_bytes = quota.cap(ctx.principal, ctx.header.client_id, budget)
    args = ShareFetchArgs(
        version=ctx.version,
        group_id=request.group_id or "",
        member_id=request.member_id or "",
        epoch=request.share_session_epoch,
        max_wait_ms=millis(request.max_wait),
        min_bytes=request.min_bytes,
        max_bytes=max_bytes,
        max_records=request.max_records,
        batch_size=request.batch_size,
        acquire_mode=getattr(request, "share_acquire_mode", 0),
        is_renew_ack=is_renew_ack,
        partitions=partition_args(request.topics),
        forgotten=[(t.topic_id, p) for t in request.forgotten_topics_data for p in t.partitions],
    )
    cluster = ctx.cluster
    here = Serving(ctx.node.node_id, ctx.connection_id, cluster.topics, cluster.clock)
    response = share_fetch(cluster.shares, here, cluster.nodes.get, args)
    if not quota.enabled:
        return response
    if inspect.isawaitable(response):
        return _record_when_done(ctx, response)
    return _record(ctx, response)


async def _record_when_done(ctx: RequestContext, pending: Awaitable[Any]) -> Any:
    return _record(ctx, await pending)


def _record(ctx: RequestContext, response: dict[str, Any]) -> dict[str, Any]:
    """Record the response's record bytes against the client's fetch quota and set
    the throttle time it earns (Kafka's handleShareFetchRequest)."""
    size = sum(
        len(p["records"] or b"")
        for t in response.get("responses") or ()
        for p in t["partitions"]
    )
    throttle = ctx.node.quotas.fetch.record(ctx.principal, ctx.header.client_id, size)
    if throttle > 0:
        ctx.throttle("fetch", throttle)
        response["throttle_time"] = throttle
    return response
