"""ListOffsets (key 2), versions 1-10 (v10 adds the client's timeout, KIP-1075).

Timestamps: -2 earliest (the log start offset), -1 latest (the high watermark, or
the last stable offset for read_committed), -3 max timestamp (KIP-734), -4
earliest local and -5 latest tiered (KIP-1005; the same as -2 and -1 here: there
is no tiered storage). Any other value finds the first record whose timestamp is
at or after it (KIP-79), or answers offset -1 (and leader epoch -1) when there
is none. NOT_LEADER_OR_FOLLOWER when this node does not lead the partition; FENCED_
or UNKNOWN_LEADER_EPOCH for a stale or future ``current_leader_epoch`` (v4+, KIP-320).

v0 was removed in Kafka 4.0 (KIP-896) and closes the connection, as on Kafka 4.x;
with ``streamtest.legacy.protocol=true`` it is served (:func:`list_offsets_v0`) for
old tools that hard-code it, such as Burrow 1.2.
Left out: v11's earliest-pending-upload timestamp (-6, KIP-1023, tiered storage).
"""

from __future__ import annotations

import struct
from typing import Any

from ...protocol.errors import ErrorCode
from ...protocol.exceptions import InvalidFrame
from ..dispatch import LEGACY, RequestContext, api
from ..services.partitions import leader_partition

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -1, -2, -3, -4, -5


@api(2, "ListOffsets", 1, 10)
def handle_list_offsets(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Resolve each partition's requested timestamp to an offset."""
    table = ctx.cluster.topics
    read_committed = getattr(request, "isolation_level", 0) == 1
    topics = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            res: dict[str, Any] = {
                "partition_index": p.partition_index,
                "error_code": ErrorCode.NONE,
                "timestamp": -1,
                "offset": -1,
                "leader_epoch": -1,
            }
            parts.append(res)
            injected = ctx.fault(t.name, p.partition_index)
            if injected:
                res["error_code"] = injected
                continue
            log, code = leader_partition(
                table,
                ctx.node.node_id,
                t.name,
                p.partition_index,
                getattr(p, "current_leader_epoch", -1),
            )
            if log is None or code:
                res["error_code"] = code
                continue
            ts = p.timestamp
            if ts in (EARLIEST, EARLIEST_LOCAL):
                res["offset"] = log.log_start_offset
            elif ts in (LATEST, LATEST_TIERED):
                res["offset"] = log.last_stable_offset if read_committed else log.high_watermark
            elif ts == MAX_TIMESTAMP:
                found = log.max_timestamp_offset()
                if found is not None:
                    res["offset"], res["timestamp"] = found
            elif ts < 0:
                res["error_code"] = ErrorCode.INVALID_REQUEST
            else:
                found = log.offset_for_timestamp(ts)
                if found is not None:
                    res["offset"], res["timestamp"] = found
            # Kafka leaves leader_epoch at -1 when no offset was found.
            if res["offset"] >= 0:
                res["leader_epoch"] = log.leader_epoch
        topics.append({"name": t.name, "partitions": parts})
    return {"throttle_time": 0, "topics": topics}


def list_offsets_v0(ctx: RequestContext, frame: bytearray, offset: int) -> bytes:
    """Serve a ListOffsets v0 request (Kafka 0.8's OffsetRequest) and return its
    encoded response body.

    v0 answers a list of offsets per partition (``old_style_offsets``), at most
    ``max_num_offsets``: the latest (-1) is the high watermark, the earliest (-2)
    the log start offset; for a timestamp, Kafka 3.x answered the base offsets of
    the segments older than it, which streamtest (no segments) answers with the
    first offset at or after the timestamp, if any. Errors are per partition, as
    for v1.

    Raises:
        InvalidFrame: the request is truncated.
    """
    buf = memoryview(frame)
    try:
        pos = offset + 4  # replica_id
        (n_topics,) = struct.unpack_from(">i", buf, pos)
        pos += 4
        out = bytearray(struct.pack(">i", max(n_topics, 0)))
        for _ in range(max(n_topics, 0)):
            (size,) = struct.unpack_from(">h", buf, pos)
            name = bytes(buf[pos + 2 : pos + 2 + size]).decode()
            pos += 2 + size
            (n_parts,) = struct.unpack_from(">i", buf, pos)
            pos += 4
            out += struct.pack(">h", size) + name.encode() + struct.pack(">i", max(n_parts, 0))
            for _p in range(max(n_parts, 0)):
                index, timestamp, max_offsets = struct.unpack_from(">iqi", buf, pos)
                pos += 16
                code, offsets = _v0_offsets(ctx, name, index, timestamp, max_offsets)
                out += struct.pack(">ihi", index, code, len(offsets))
                out += b"".join(struct.pack(">q", o) for o in offsets)
    except (struct.error, UnicodeDecodeError) as exc:
        raise InvalidFrame(f"malformed ListOffsets v0 request: {exc}") from exc
    return bytes(out)


def _v0_offsets(
    ctx: RequestContext, topic: str, index: int, timestamp: int, max_offsets: int
) -> tuple[int, list[int]]:
    partition, error = leader_partition(ctx.cluster.topics, ctx.node.node_id, topic, index)
    if error or partition is None:
        return int(error), []
    if timestamp == LATEST:
        offsets = [partition.high_watermark]
    elif timestamp == EARLIEST:
        offsets = [partition.log_start_offset]
    else:
        found = partition.offset_for_timestamp(timestamp)
        offsets = [found[0]] if found is not None else []
    return int(ErrorCode.NONE), offsets[: max(max_offsets, 0)]


LEGACY[(2, 0)] = list_offsets_v0
